"""A test-only labcloud service: a sliver of CodeBuild (projects only), to show that a new service is one
folder and one line in the registry. Nothing in labcloud/server knows it."""

from labcloud.platform.service import Routes, ServiceDefinition
from tests.support.codebuild_lite.service import CodeBuildLite

SERVICE = ServiceDefinition(name="codebuild-lite", routes=Routes(json_target_prefix="CodeBuild_20161006"),
                            factory=CodeBuildLite, store_root="codebuild-lite", health_names=("codebuild",))
