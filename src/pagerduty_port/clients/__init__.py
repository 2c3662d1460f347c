"""HTTP clients: PagerDuty REST, Events v2 and Port. They know nothing of GitHub or the
catalogue; every URL, credential and callback comes in as a parameter."""
