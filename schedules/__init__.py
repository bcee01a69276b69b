"""Scheduled jobs: reminders, SLA escalation, digests, outbox drain (the schedules issue)."""
