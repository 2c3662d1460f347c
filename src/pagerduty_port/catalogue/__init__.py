"""The catalogue: what Port holds, made from PagerDuty through a mapping (`mapping`), read and
written in bulk (`sync`), and kept fresh by webhooks (`realtime`). Uses only the clients."""
