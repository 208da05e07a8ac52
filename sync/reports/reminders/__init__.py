"""Overdue-payment reminders (催款提醒): build them from the overdue list, send each through the
configured channels (SMTP email, a JSON webhook for 企业微信/钉钉 robots), and never send the
same reminder twice within the configured interval."""
