"""Reading S/4HANA's answer: posted only with severity < 3 and a real document number."""

from __future__ import annotations

import pytest

from connectors.sap.s4.soap import Confirmation, SoapFault, parse_response

SUCCESS = """<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/">
  <soap-env:Header/>
  <soap-env:Body>
    <n0:JournalEntryBulkCreateConfirmation xmlns:n0="http://sap.com/xi/SAPSCORE/SFIN"
        xmlns:prx="urn:sap.com:proxy:XGJ:/1SAI/TAS3D871C7855B59197A671:795">
      <MessageHeader>
        <UUID>2d656d48-6d1b-1eee-bc82-9fbbd1ef35ff</UUID>
        <ReferenceID>CRM-20261101-0001</ReferenceID>
        <CreationDateTime>2026-11-01T02:15:01.484251Z</CreationDateTime>
        <SenderBusinessSystemID>XGJ</SenderBusinessSystemID>
      </MessageHeader>
      <ConfirmationInterfaceOrignName/>
      <JournalEntryCreateConfirmation>
        <MessageHeader>
          <UUID>2d656d48-6d1b-1eee-bc82-9fbbd1ef55ff</UUID>
          <ReferenceID>CRM-SO-100045</ReferenceID>
          <CreationDateTime>2026-11-01T02:15:01.484353Z</CreationDateTime>
        </MessageHeader>
        <JournalEntryCreateConfirmation>
          <AccountingDocument>1800000123</AccountingDocument>
          <CompanyCode>1010</CompanyCode>
          <FiscalYear>2026</FiscalYear>
        </JournalEntryCreateConfirmation>
        <Log>
          <MaximumLogItemSeverityCode>1</MaximumLogItemSeverityCode>
          <Item>
            <TypeID>605(RW)</TypeID>
            <SeverityCode>1</SeverityCode>
            <Note>Document posted successfully: BKPFF 180000012310102026 0M4SMVI</Note>
            <WebURI>http://host:50000/sap/xi/docu_apperror?ID=NA&amp;OBJECT=RW605</WebURI>
          </Item>
        </Log>
      </JournalEntryCreateConfirmation>
      <Log/>
    </n0:JournalEntryBulkCreateConfirmation>
  </soap-env:Body>
</soap-env:Envelope>"""

FAILURE = """<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/">
  <soap-env:Header/>
  <soap-env:Body>
    <n0:JournalEntryBulkCreateConfirmation xmlns:n0="http://sap.com/xi/SAPSCORE/SFIN">
      <MessageHeader><ReferenceID>CRM-20261101-0002</ReferenceID></MessageHeader>
      <ConfirmationInterfaceOrignName/>
      <JournalEntryCreateConfirmation>
        <MessageHeader><ReferenceID>CRM-SO-100046</ReferenceID></MessageHeader>
        <JournalEntryCreateConfirmation>
          <AccountingDocument>{number}</AccountingDocument>
          <CompanyCode> </CompanyCode>
          <FiscalYear>0000</FiscalYear>
        </JournalEntryCreateConfirmation>
        <Log>
          <MaximumLogItemSeverityCode>{severity}</MaximumLogItemSeverityCode>
          <Item><TypeID>609(RW)</TypeID><SeverityCode>3</SeverityCode>
            <Note>Error in document: BKPFF $ 0M4SMVI</Note></Item>
          <Item><TypeID>102(F5)</TypeID><SeverityCode>3</SeverityCode>
            <Note>Customer 10100099 is not defined in company code 1010</Note></Item>
        </Log>
      </JournalEntryCreateConfirmation>
      <Log/>
    </n0:JournalEntryBulkCreateConfirmation>
  </soap-env:Body>
</soap-env:Envelope>"""

FAULT = """<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/">
<soap-env:Body><soap-env:Fault><faultcode>soap-env:Client</faultcode>
<faultstring xml:lang="en">Deserialization failed: value too long for CreatedByUser</faultstring>
<detail/></soap-env:Fault></soap-env:Body></soap-env:Envelope>"""


def only(body: str) -> Confirmation:
    parsed = parse_response(body)
    assert isinstance(parsed, list)
    assert len(parsed) == 1
    return parsed[0]


def test_success_gives_document_year_and_company_matched_by_reference_id() -> None:
    conf = only(SUCCESS)
    assert conf.posted
    assert (conf.reference_id, conf.accounting_document, conf.fiscal_year, conf.company_code) == (
        "CRM-SO-100045",
        "1800000123",
        "2026",
        "1010",
    )
    assert conf.severity == 1


def test_severity_3_at_http_200_is_a_failure_with_sap_notes() -> None:
    conf = only(FAILURE.format(number=" ", severity=3))
    assert not conf.posted
    assert "Customer 10100099 is not defined in company code 1010 [102(F5)]" in conf.error_text()


@pytest.mark.parametrize("number", ["0000000000", "", " "], ids=["all zeros", "empty", "blank"])
def test_no_real_document_number_is_a_failure_even_at_low_severity(number: str) -> None:
    conf = only(FAILURE.format(number=number, severity=1))
    assert not conf.posted


def test_a_soap_fault_is_returned_with_its_faultstring() -> None:
    fault = parse_response(FAULT)
    assert isinstance(fault, SoapFault)
    assert fault.code == "soap-env:Client"
    assert "value too long for CreatedByUser" in fault.text


@pytest.mark.parametrize("body", ["<html><body>Gateway Timeout</body></html>", "<soap-env:Envel", ""])
def test_anything_else_is_unreadable(body: str) -> None:
    with pytest.raises(ValueError):
        parse_response(body)


def test_several_documents_keep_their_order_and_references() -> None:
    doubled = SUCCESS.replace(
        "</JournalEntryCreateConfirmation>\n      <Log/>",
        "</JournalEntryCreateConfirmation>"
        + FAILURE.format(number="0000000000", severity=3)
        .split("<ConfirmationInterfaceOrignName/>")[1]
        .split("<Log/>\n    </n0")[0]
        + "<Log/>",
    )
    parsed = parse_response(doubled)
    assert isinstance(parsed, list)
    assert [(c.reference_id, c.posted) for c in parsed] == [("CRM-SO-100045", True), ("CRM-SO-100046", False)]
