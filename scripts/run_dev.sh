#!/usr/bin/env bash
# Start netpol on the embedded default (SQLite, tasks in-process) with the demo data.
# `make run` installs the packages first and then calls this script.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python}"
PORT="${PORT:-8000}"
# A development server: DEBUG on and a development key, unless the environment or .env says otherwise.
export DEBUG="${DEBUG:-True}"

"$PYTHON" manage.py migrate --noinput
"$PYTHON" manage.py shell -c '
from django.contrib.auth.models import User
if not User.objects.filter(username="demo").exists():
    User.objects.create_superuser("demo", "demo@example.com", "demo")
    print("created the user demo")
'
"$PYTHON" manage.py load_demo

echo
echo "  netpol is starting at http://localhost:${PORT}/"
echo "  log in as demo / demo   (API: http://localhost:${PORT}/api/, schema: /api/schema/swagger-ui/)"
echo
# Periodic cluster sync: on the embedded default there is no Celery beat; the scheduler process
# syncs due clusters in-process and stops with the web server.
"$PYTHON" manage.py run_scheduler &
SCHEDULER=$!
trap 'kill "$SCHEDULER" 2>/dev/null || true' EXIT
"$PYTHON" manage.py runserver "0.0.0.0:${PORT}"
