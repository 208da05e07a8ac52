"""The console in a real browser: Debian's chromium driven by Selenium through chromium-driver.

A finance clerk logs in, finds a voucher by its ERP number, opens it and sees the CRM record
behind it and its reversal; a viewer finds no approve button and is refused when trying
anyway; an approver ticks a voucher and approves it. Screenshots go to
``.crmsync/screenshots/console/`` (and the test's own folder). Skips, saying why, only where
chromium or its driver is not installed (``.ci/run`` installs both).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.console.stage import PASSWORD, XSS_NAME, Served, Stage, build_stage, serve

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SHOTS = Path(__file__).resolve().parents[2] / ".crmsync" / "screenshots" / "console"

pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)


@pytest.fixture
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not look for downloads
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,1000",
        "--lang=zh-CN",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[Stage, Served]]:
    stage = build_stage(tmp_path / "t", f"sqlite:///{tmp_path / 't' / 'state.db'}")
    with serve(stage.config) as served:
        yield stage, served


def _shot(driver, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = tmp_path / f"{name}.png"
    assert driver.save_screenshot(str(path)) and path.stat().st_size > 10_000
    shutil.copy(path, SHOTS / path.name)


def _login(driver, url: str, user: str) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    driver.get(f"{url}/vouchers")
    assert "/login" in driver.current_url  # not logged in: sent to the login page
    driver.find_element(By.ID, "username").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    assert driver.find_element(By.ID, "whoami").text.find(user) >= 0


def test_a_clerk_finds_a_voucher_by_erp_number_and_sees_its_crm_record_and_reversal(
    browser,
    live: tuple[Stage, Served],
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    from selenium.webdriver.common.by import By

    stage, console = live
    reversed_one = next(v for v in stage.vouchers_json() if v["status"] == "reversed")
    _login(browser, console.url, "viewer1")
    assert browser.current_url.endswith("/vouchers")
    search = browser.find_element(By.ID, "q")
    search.send_keys(reversed_one["erp_number"])
    browser.find_element(By.ID, "filter").click()
    rows = browser.find_elements(By.CSS_SELECTOR, "#voucher-list tbody tr")
    assert len(rows) == 1 and reversed_one["erp_number"] in rows[0].text
    _shot(browser, tmp_path, "1-search-by-erp-number")
    rows[0].find_element(By.LINK_TEXT, reversed_one["erp_number"]).click()
    assert browser.find_element(By.ID, "erp-number").text == reversed_one["erp_number"]
    record = browser.find_element(By.ID, "source-record").text
    assert "pay000003" in record and "payment_amount" in record
    assert "被冲销于" in browser.find_element(By.ID, "reversed-by").text
    _shot(browser, tmp_path, "2-voucher-with-crm-record-and-reversal")
    browser.find_element(By.CSS_SELECTOR, "#reversed-by a").click()
    assert "冲销" in browser.find_element(By.ID, "reverses").text


def test_a_viewer_cannot_approve_and_an_approver_can(
    browser, live: tuple[Stage, Served], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    stage, console = live
    waiting = [v["external_ref"] for v in stage.vouchers_json() if v["status"] == "awaiting_approval"]
    _login(browser, console.url, "viewer1")
    browser.get(f"{console.url}/approvals")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#waiting input.pick")) == len(waiting) == 2
    assert browser.find_elements(By.ID, "approve-picked") == []
    status = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch('/api/me').then(r => r.json()).then(me => fetch(arguments[0], "
        "{method: 'POST', headers: {'X-CSRF-Token': me.csrf_token}}))"
        ".then(r => done(r.status), e => done(String(e)));",
        f"/api/vouchers/{quote(waiting[0], safe='')}/approve",
    )
    assert status == 403
    _shot(browser, tmp_path, "3-viewer-sees-no-approve-button")
    browser.find_element(By.ID, "logout").click()
    _login(browser, console.url, "approver1")
    browser.get(f"{console.url}/approvals")
    browser.find_element(By.CSS_SELECTOR, f"input.pick[value='{waiting[0]}']").click()
    browser.find_element(By.ID, "approve-picked").click()
    assert "approved 1" in browser.find_element(By.ID, "flash").text
    _shot(browser, tmp_path, "4-approver-approved-one")
    statuses = {v["external_ref"]: v["status"] for v in stage.vouchers_json()}
    assert statuses[waiting[0]] == "pending" and statuses[waiting[1]] == "awaiting_approval"


def test_a_script_in_a_crm_field_does_not_run(browser, live: tuple[Stage, Served], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    _, console = live
    _login(browser, console.url, "viewer1")
    browser.get(f"{console.url}/vouchers/" + quote("payment_received:PaymentObj:pay000005", safe=""))
    assert XSS_NAME in browser.find_element(By.ID, "source-record").text  # shown, as text
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - reading it is the check
    _shot(browser, tmp_path, "5-markup-shown-as-text")
