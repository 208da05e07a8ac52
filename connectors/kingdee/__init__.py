"""Kingdee K/3 Cloud (金蝶云星空) destination: GL_VOUCHER over the WebAPI, posted exactly once."""
