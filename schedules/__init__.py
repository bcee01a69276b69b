"""Scheduled jobs (reminders, SLA escalation, digests, outbox drain); filled in by the schedules issue."""
