"""Messages to people and systems: what they say, and how each kind leaves.

`messages` turns events (a ticket opened, a deadline near, an urgent alert)
into outbox rows in the caller's transaction; `templates/` holds the French
e-mails (text and HTML); `transports` is the registry of delivery channels
by kind (`mail` for e-mail over SMTP, `sms` through Twilio); the scheduler's
`ivr.jobs.outbox` claims due rows and hands them to their transport.
"""
