"""The scheduler: follow-up jobs at the times rules.yaml ``follow_up:`` gives.

``config`` reads the schedules (APScheduler triggers on the service-hours calendar);
``runner`` claims each due run in ``job_runs`` and runs it once, catching up after a
stop; the jobs themselves (digests, reminders, reports) live in ``gateway/followup/``.
"""
