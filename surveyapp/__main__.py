"""`python -m surveyapp` serves the app with waitress (same as `surveyapp serve`)."""

from surveyapp.cli import main

if __name__ == "__main__":
    main(["serve"])
