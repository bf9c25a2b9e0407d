"""The git endpoint of labcloud's CodeCommit: {endpoint_url}/v1/repos/<name>, each repository's
cloneUrlHttp, so that the ordinary `git clone`, `fetch` and `push` work without credentials.

The registry hands this module only the exact smart-HTTP endpoints (ROUTES: GET .../info/refs,
POST .../git-upload-pack, POST .../git-receive-pack) of requests not signed for another service. A path
style S3 request for the bucket "v1" could still look like one, unsigned; so a request that does not ask
for a git service (info/refs?service=..., a git request content type) or names a repository that does
not exist goes on to the fallback service, unread.

A push runs under the repository's lock (Repositories.receiving): its answer is read whole, then the
references it changed are published as events, before the client has the end of the answer; so when
`git push` returns, the events are out.
"""

from __future__ import annotations

from werkzeug.wrappers import Response

from labcloud.protocols.rest_json import ROUTE_MATCH
from labcloud.services.codecommit.git import http_backend, program

_NAME = r"(?P<name>[A-Za-z0-9_.-]{1,100})"
ROUTES = (("GET", rf"^/v1/repos/{_NAME}/(?P<endpoint>info/refs)$"),
          ("POST", rf"^/v1/repos/{_NAME}/(?P<endpoint>git-upload-pack|git-receive-pack)$"))


class GitHttp:
    def __init__(self, repositories, fallback):
        self.repositories = repositories
        self.fallback = fallback  # WSGI app: the service that takes what no other claims

    def __call__(self, environ, start_response):
        match = environ[ROUTE_MATCH]
        name, endpoint = match.group("name"), match.group("endpoint")
        service = http_backend.git_service(environ, endpoint)
        if service is None or self.repositories.bare_repository(name) is None:
            return self.fallback(environ, start_response)
        if not program.available():
            return _text(500, "labcloud's CodeCommit serves git repositories with the git program, which is not "
                              f"installed on the machine labcloud runs on: {program.INSTALL_HINT}.\n",
                         environ, start_response)
        path_info = f"/{name}.git/{endpoint}"
        if endpoint == "git-receive-pack":
            with self.repositories.receiving(name) as bare:
                if bare is None:  # deleted while this push waited for the lock
                    return _text(404, f"repository {name} does not exist\n", environ, start_response)
                answer = http_backend.run(self.repositories.root, path_info, environ)
                body = answer.read_all()
            headers = [(k, v) for k, v in answer.headers if k.lower() != "content-length"]
            start_response(answer.status, headers + [("Content-Length", str(len(body)))])
            return [body]
        answer = http_backend.run(self.repositories.root, path_info, environ)
        start_response(answer.status, answer.headers)
        return answer.body


def _text(status: int, message: str, environ, start_response):
    return Response(message, status=status, content_type="text/plain")(environ, start_response)
