"""The demo data set (`surveyapp demo`): who and what (cast.py) and the loader that
writes it through the services (loader.py). Above services and readmodels."""
