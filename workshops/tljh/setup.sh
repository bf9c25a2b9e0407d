#!/bin/bash
# The Littlest JupyterHub for this course, on one fresh Ubuntu 22.04 or 24.04 server (up to about 100
# learners; chapters/instructors-jupyterhub.md sizes it). Run as root from a clone of the course:
#     sudo workshops/tljh/setup.sh INSTRUCTOR_NAME
# It installs TLJH (if missing), the course's requirements into the learners' environment, a labcloud per
# learner (start-labcloud, labcloud.py), limits and culling; then checks the result with `labcloud doctor`.
set -euo pipefail
admin=${1:?usage: setup.sh INSTRUCTOR_NAME}
course=$(cd "$(dirname "$0")/../.." && pwd)

# git: the Projects lab and nbgitpuller; bubblewrap: sandboxed grading, if you grade on this server.
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq git util-linux bubblewrap curl python3 >/dev/null

if [ ! -x /opt/tljh/user/bin/python ]; then
  curl -fsSL https://tljh.jupyter.org/bootstrap.py | python3 - --admin "$admin"
fi

# The course is installed where every learner can read it; `-e .` in requirements.txt is labcloud itself.
install -d -m 0755 /opt/course
cp -r "$course"/. /opt/course/
cd /opt/course
/opt/tljh/user/bin/pip install -q -r requirements.txt -r workshops/image/hub-requirements.txt
install -m 0755 workshops/start-labcloud.sh /opt/tljh/user/bin/start-labcloud
install -m 0644 workshops/tljh/labcloud.py /opt/tljh/config/jupyterhub_config.d/labcloud.py
mkdir -p /opt/ml  # where each training job's private /opt/ml is mounted

tljh-config set user_environment.default_app jupyterlab
tljh-config set limits.memory 3G
tljh-config set limits.cpu 2
tljh-config set services.cull.timeout 3600
tljh-config set services.cull.every 300
tljh-config reload

# The learners' environment, checked as a learner would see it (no smoke test: no learner exists yet).
/opt/tljh/user/bin/labcloud doctor --no-smoke --requirements /opt/course/requirements.txt || {
  echo "setup.sh: labcloud doctor found a problem: fix it (its fix lines) and run this script again" >&2
  exit 1
}
echo "TLJH is ready. Log in as $admin, open a terminal and run: labcloud doctor"
