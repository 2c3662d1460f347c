"""The operations the image can run, by the name the action passes in PAGERDUTY_PORT_OPERATION."""
