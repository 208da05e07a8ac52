"""Bank statements (camt.053/054, MT940, CMB 银企直连) and payment platforms (Stripe, Alipay,
WeChat Pay), each normalised into one transaction shape (``sync.banking``)."""
