"""What error reports (the DEBUG page, error mails) may show of the settings.

Django hides settings whose names contain KEY, SECRET, PASS, TOKEN, API or SIGNATURE. netpol's
connection URLs carry passwords too (postgres://user:password@host, redis://:password@host), so
any setting named like a URL, a broker or a database is hidden as well.
"""

import re

from django.views.debug import SafeExceptionReporterFilter


class SecretSettingsFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile("API|TOKEN|KEY|SECRET|PASS|SIGNATURE|URL|BROKER|DATABASE|EMAIL_HOST", flags=re.I)
