"""The background work: the scheduler process and its jobs (one module each).

`scheduler` elects the active process and runs the jobs: `callbacks` places
due callbacks and urgent alerts, `deadlines` warns about tickets near their
deadline (and e-mails them), `sweep` closes calls whose final status never
came, `outbox` delivers the e-mails and SMS of the outbox. The retention
purge is `callbook.reports.retention`; the spool replay is `ivr.voice.replay`.
"""
