# The Littlest JupyterHub: give every learner's server its own labcloud.
# setup.sh copies this file to /opt/tljh/config/jupyterhub_config.d/labcloud.py; TLJH loads it after its
# own configuration (`sudo tljh-config reload` applies a change).
#
# All learners share this machine's loopback, so each labcloud gets its own port: LABCLOUD_PORT_BASE plus
# the learner's uid (start-labcloud computes it as that user). Its state is ~/.labcloud, private (0700).
# The notebooks' kernels inherit LABCLOUD_PORT, so labcloud.start() in a lab finds the learner's own.

LABCLOUD_PORT_BASE = 20000  # TLJH's users have uids from 1000: ports 21000 and up

c = get_config()  # noqa: F821  (provided by JupyterHub when it loads this file)
c.Spawner.cmd = ["/opt/tljh/user/bin/start-labcloud", "jupyterhub-singleuser"]
c.Spawner.environment.update({"LABCLOUD_PORT_BASE": str(LABCLOUD_PORT_BASE)})
c.Spawner.default_url = "/lab"
# A learner's labcloud may take a few seconds to start before the server does.
c.Spawner.start_timeout = 120
