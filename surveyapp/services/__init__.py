"""The write side: use-cases that change state, each state change one BEGIN IMMEDIATE
transaction (store.transaction) with its audit entry. They read through readmodels/
and refuse with surveyapp.refusals; no Flask."""
