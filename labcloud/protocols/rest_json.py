"""REST-JSON (sagemaker-runtime's InvokeEndpoint, and the REST services to come): the operation is the
method and the path. A service of this protocol lists its routes in its ServiceDefinition (method, path
regex) and maps each to a handler in `self.routes`; the gateway hands over the path match.

Handlers return (status, headers, body) or raise an AWS error, serialized here. Answers go straight
through WSGI, without a Response object: InvokeEndpoint is the hot path of every prediction.

A request the registry gave the service without a match (one of its Routes.owned_paths, or an operation's
route signed for another service) gets the service's own error: InvalidSignatureException (403) for the
other service's signature, else UnknownOperationException (404) naming the routes it has.
"""

from __future__ import annotations

from typing import Callable

from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Request

from labcloud.core.errors import AWSError, InvalidSignatureException, UnknownOperationException, ValidationException
from labcloud.platform.service import Service
from labcloud.protocols.errors import error_response, request_id
from labcloud.protocols.validation import service_model, validate_request

ROUTE_MATCH = "labcloud.route_match"  # the environ key the gateway puts the path match under
SIGNED_FOR = "labcloud.signed_for"  # and the service a request's signature names (None: unsigned)

Handler = Callable[[Request, dict], tuple[int, dict, bytes]]


class RestJsonService(Service):
    botocore_name: str = ""  # the model validate_input() checks a request's path and header members against
    validation_error: type[AWSError] = ValidationException  # the service's own 400 (sagemaker-runtime's differs)
    operation_names: tuple[str, ...] = ()  # the botocore operations its routes serve (named in its errors)

    def __init__(self, ctx, definition):
        super().__init__(ctx, definition)
        self.routes: dict[str, Handler] = {}  # the route's path regex -> its handler

    def validate_input(self, operation: str, request: Request, path: dict) -> dict:
        """The operation's members that travel in the path and the headers, checked against botocore's model
        as AWS checks them (a payload member stands in as an empty blob: its size was bounded at the door);
        raises the service's validation_error, worded as protocols.validation words it."""
        shape = service_model(self.botocore_name).operation_model(operation).input_shape
        params = {}
        for name, member in shape.members.items():
            location, wire = member.serialization.get("location"), member.serialization.get("name", name)
            if location == "uri" and wire in path:
                params[name] = path[wire]
            elif location == "header" and wire in request.headers:
                params[name] = request.headers[wire]
            elif location is None and member.type_name == "blob":
                params[name] = b""
        try:
            validate_request(operation, params, self.botocore_name)
        except ValidationException as err:
            raise self.validation_error(err.message) from None
        return params

    def __call__(self, environ, start_response):
        match = environ.get(ROUTE_MATCH)
        request = Request(environ)
        try:
            if match is None:
                raise self.no_route(environ)
            status, headers, body = self.routes[match.re.pattern](request, match.groupdict())
        except AWSError as err:
            status, headers, body = error_response(err)
        start_response(f"{status} {HTTP_STATUS_CODES.get(status, 'Unknown')}",
                       [*headers.items(), ("x-amzn-RequestId", request_id(environ)),
                        ("Content-Length", str(len(body)))])
        return [body]

    def no_route(self, environ) -> AWSError:
        routes = self.definition.routes
        scope = environ.get(SIGNED_FOR)
        if routes.signed_for_another(scope):
            return InvalidSignatureException(
                f"Credential should be scoped to correct service: '{routes.signing_names[0]}'. This request "
                f"was signed for '{scope[:64]}'.")
        method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
        if self.botocore_name:  # the operations as AWS documents them: POST /endpoints/{EndpointName}/invocations
            model = service_model(self.botocore_name)
            served = [f"{name} ({op.http['method']} {op.http['requestUri']})" for name in model.operation_names
                      if (op := model.operation_model(name)).name in self.operation_names]
        else:
            served = [f"{m} {p}" for m, p in routes.rest_paths]
        err = UnknownOperationException(
            f"{self.name} has no operation {method[:16]} {path[:200]}; it serves " + ", ".join(served) + ".")
        err.status = 404
        return err
