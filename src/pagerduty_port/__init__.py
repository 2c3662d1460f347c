"""GitHub Actions that drive PagerDuty from Port and keep Port's catalogue in sync."""
