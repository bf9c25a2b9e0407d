"""The objects the API holds, with Kubernetes' bookkeeping, and the watches on them.

Every write takes the next resourceVersion (one counter for all objects, as etcd's revision) and is
published to the watches that select it; a short history lets a watch start from an older version, as
`kubectl get -w` and `kubectl wait` do after their list. Writes keep the API's rules:

    create     uid, creationTimestamp, generation 1, resourceVersion; AlreadyExists for a taken name
    update     409 Conflict when the sent resourceVersion is not the current one; generation + 1 when the
               spec changes; the main resource leaves .status alone and the status subresource changes only it
    delete     with finalizers: deletionTimestamp set, the object stays until its last finalizer is removed;
               without: gone (a DELETED event)

ACK objects and namespaces are saved in the state directory (kind "objects"); events live in memory.
"""

from __future__ import annotations

import collections
import copy
import datetime as dt
import queue
import threading
import uuid

from labcloud.services.kubernetes.resources import ACK, EVENTS, NAMESPACES, Resource
from labcloud.services.kubernetes.selectors import field_matcher, label_matcher
from labcloud.services.kubernetes.statuses import already_exists, conflict, gone, not_found

HISTORY = 2000  # watch events kept for a watch that starts from an older resourceVersion
MAX_EVENTS = 5000  # core/v1 Events kept (the oldest go first)
BUILT_IN_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def now() -> str:
    return timestamp(dt.datetime.now(dt.timezone.utc))


def timestamp(moment: dt.datetime) -> str:
    """A time as Kubernetes writes one (RFC 3339, UTC, whole seconds)."""
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Watch:
    """One watch: the events it selects go to its queue; None in the queue ends it."""

    def __init__(self, resource: Resource, namespace, labels, fields):
        self.resource, self.namespace = resource, namespace
        self.labels, self.fields = labels, fields
        self.queue: queue.Queue = queue.Queue()

    def selects(self, resource: Resource, obj: dict) -> bool:
        meta = obj["metadata"]
        return (resource is self.resource and (self.namespace is None or meta.get("namespace") == self.namespace)
                and self.labels(meta.get("labels")) and self.fields(obj))


class Objects:
    def __init__(self, store):
        self.store = store
        self._lock = threading.RLock()
        self._objects: dict[tuple, dict] = {}  # (plural, namespace, name) -> object
        self._version = 0
        self._history: collections.deque = collections.deque(maxlen=HISTORY)  # (rv, resource, type, object)
        self._watches: list[Watch] = []
        self.listeners = []  # f(resource, type, object): the reconciler hears of every ACK write
        self._resources = {r.plural: r for r in (NAMESPACES, EVENTS, *ACK.values())}

    # --- start-up and persistence

    def load(self) -> None:
        for name, record in self.store.load_all("objects").items():
            resource = self._resources.get(record.get("resource"))
            obj = record.get("object")
            if resource is None or not isinstance(obj, dict):
                continue
            meta = obj["metadata"]
            self._objects[(resource.plural, meta.get("namespace"), meta["name"])] = obj
            self._version = max(self._version, int(meta.get("resourceVersion", "0")))
        for name in BUILT_IN_NAMESPACES:
            if (NAMESPACES.plural, None, name) not in self._objects:
                self._put(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace",
                                       "metadata": {"name": name, "uid": str(uuid.uuid4()),
                                                    "creationTimestamp": now()},
                                       "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})

    def _save(self, resource: Resource, obj: dict) -> None:
        if resource is EVENTS:
            return
        meta = obj["metadata"]
        self.store.save("objects", _record_name(resource, meta.get("namespace"), meta["name"]),
                        {"resource": resource.plural, "object": obj})

    def _forget(self, resource: Resource, obj: dict) -> None:
        if resource is not EVENTS:
            meta = obj["metadata"]
            self.store.delete("objects", _record_name(resource, meta.get("namespace"), meta["name"]))

    # --- reads

    @property
    def version(self) -> str:
        return str(self._version)

    def resource(self, plural: str) -> Resource:
        return self._resources[plural]

    def get(self, resource: Resource, namespace, name: str) -> dict:
        with self._lock:
            obj = self._objects.get((resource.plural, namespace, name))
            if obj is None:
                raise not_found(resource.plural, resource.group, name)
            return copy.deepcopy(obj)

    def find(self, resource: Resource, namespace, name: str) -> dict | None:
        with self._lock:
            obj = self._objects.get((resource.plural, namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def list(self, resource: Resource, namespace=None, labels: str | None = None, fields: str | None = None
             ) -> tuple[list[dict], str]:
        label_test, field_test = label_matcher(labels), field_matcher(fields)
        with self._lock:
            items = [copy.deepcopy(o) for (plural, ns, _), o in sorted(self._objects.items(), key=_order)
                     if plural == resource.plural and (namespace is None or ns == namespace)
                     and label_test(o["metadata"].get("labels")) and field_test(o)]
            return items, self.version

    def namespace_exists(self, name: str) -> bool:
        with self._lock:
            return (NAMESPACES.plural, None, name) in self._objects

    # --- writes

    def _next(self) -> str:
        self._version += 1
        return str(self._version)

    def _publish(self, resource: Resource, kind: str, obj: dict) -> None:
        snapshot = copy.deepcopy(obj)
        self._history.append((self._version, resource, kind, snapshot))
        for watch in list(self._watches):
            if watch.selects(resource, snapshot):
                watch.queue.put((kind, snapshot))
        if resource.ack is not None:
            for listener in self.listeners:
                listener(resource, kind, snapshot)

    def _put(self, resource: Resource, obj: dict, kind: str = "ADDED") -> dict:
        meta = obj["metadata"]
        meta["resourceVersion"] = self._next()
        self._objects[(resource.plural, meta.get("namespace"), meta["name"])] = obj
        self._save(resource, obj)
        self._publish(resource, kind, obj)
        return copy.deepcopy(obj)

    def create(self, resource: Resource, namespace, obj: dict) -> dict:
        with self._lock:
            meta = obj.setdefault("metadata", {})
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
            name = meta["name"]
            if (resource.plural, namespace, name) in self._objects:
                raise already_exists(resource.plural, resource.group, name)
            if resource.namespaced:
                meta["namespace"] = namespace
            else:
                meta.pop("namespace", None)
            for key in ("deletionTimestamp", "deletionGracePeriodSeconds", "managedFields"):
                meta.pop(key, None)
            meta.update(uid=str(uuid.uuid4()), creationTimestamp=now(), generation=1)
            obj["apiVersion"], obj["kind"] = resource.api_version, resource.kind
            if resource.ack is not None:
                obj.pop("status", None)  # (status is the status subresource's)
            if resource is NAMESPACES:  # (no namespace controller: one is Active from the start)
                obj["spec"] = {"finalizers": ["kubernetes"]}
                obj["status"] = {"phase": "Active"}
            if resource is EVENTS:
                self._trim_events()
            return self._put(resource, obj)

    def update(self, resource: Resource, namespace, name: str, obj: dict, subresource: str | None = None,
               check_version: bool = True) -> dict:
        with self._lock:
            key = (resource.plural, namespace, name)
            current = self._objects.get(key)
            if current is None:
                raise not_found(resource.plural, resource.group, name)
            sent = obj.get("metadata", {}).get("resourceVersion")
            if check_version and sent and sent != current["metadata"]["resourceVersion"]:
                raise conflict(resource.plural, resource.group, name)
            new = copy.deepcopy(current)
            if subresource == "status":
                new["status"] = copy.deepcopy(obj.get("status"))
                if new["status"] is None:
                    new.pop("status")
            else:
                meta = copy.deepcopy(obj.get("metadata", {}))
                for fixed in ("uid", "creationTimestamp", "generation", "namespace", "name", "deletionTimestamp",
                              "deletionGracePeriodSeconds", "resourceVersion"):
                    if fixed in current["metadata"]:
                        meta[fixed] = current["metadata"][fixed]
                    else:
                        meta.pop(fixed, None)
                new["metadata"] = meta
                for field, value in obj.items():
                    if field not in ("metadata", "status", "apiVersion", "kind"):
                        new[field] = copy.deepcopy(value)
                for field in list(new):
                    if field not in obj and field not in ("metadata", "status", "apiVersion", "kind"):
                        del new[field]
                if resource.ack is None and "status" in obj:
                    new["status"] = copy.deepcopy(obj["status"])
                if new.get("spec") != current.get("spec"):
                    meta["generation"] = current["metadata"].get("generation", 1) + 1
            if new == current:
                return copy.deepcopy(current)  # nothing changed: no new version, no event
            if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
                del self._objects[key]
                self._forget(resource, new)
                new["metadata"]["resourceVersion"] = self._next()
                self._publish(resource, "DELETED", new)
                return copy.deepcopy(new)
            return self._put(resource, new, "MODIFIED")

    def delete(self, resource: Resource, namespace, name: str, uid: str | None = None,
               version: str | None = None) -> tuple[dict, bool]:
        """(the object, whether it is gone now): with finalizers it only gets its deletionTimestamp."""
        with self._lock:
            key = (resource.plural, namespace, name)
            current = self._objects.get(key)
            if current is None:
                raise not_found(resource.plural, resource.group, name)
            meta = current["metadata"]
            if (uid and uid != meta["uid"]) or (version and version != meta["resourceVersion"]):
                raise conflict(resource.plural, resource.group, name)
            if meta.get("finalizers"):
                if meta.get("deletionTimestamp"):
                    return copy.deepcopy(current), False
                new = copy.deepcopy(current)
                new["metadata"].update(deletionTimestamp=now(), deletionGracePeriodSeconds=0)
                return self._put(resource, new, "MODIFIED"), False
            del self._objects[key]
            self._forget(resource, current)
            meta["resourceVersion"] = self._next()
            self._publish(resource, "DELETED", current)
            return copy.deepcopy(current), True

    def _trim_events(self) -> None:
        events = [k for k in self._objects if k[0] == EVENTS.plural]
        for key in events[:max(0, len(events) - MAX_EVENTS + 1)]:
            del self._objects[key]

    # --- watches

    def watch(self, resource: Resource, namespace, version: str | None, labels: str | None,
              fields: str | None, initial_events: bool = False) -> Watch:
        """A watch from `version` (its later events are replayed), or from now after an ADDED event for every
        object it selects (no version, or "0", or `initial_events`: the client's sendInitialEvents=true, which
        also wants a BOOKMARK marking where the initial events end; kubectl 1.37's delete waits for it)."""
        watch = Watch(resource, namespace, label_matcher(labels), field_matcher(fields))
        with self._lock:
            if initial_events or not version or version == "0":
                current, version_now = self.list(resource, namespace, labels, fields)
                for obj in current:
                    watch.queue.put(("ADDED", obj))
                if initial_events:
                    watch.queue.put(("BOOKMARK", {
                        "apiVersion": resource.api_version, "kind": resource.kind,
                        "metadata": {"resourceVersion": version_now,
                                     "annotations": {"k8s.io/initial-events-end": "true"}}}))
            else:
                try:
                    since = int(version)
                except ValueError:
                    raise gone(f"invalid resource version: {version}") from None
                if self._history and since < self._history[0][0] - 1 and since < self._version:
                    raise gone(f"too old resource version: {version} ({self._history[0][0]})")
                for rv, res, kind, obj in self._history:
                    if rv > since and watch.selects(res, obj):
                        watch.queue.put((kind, obj))
            self._watches.append(watch)
        return watch

    def unwatch(self, watch: Watch) -> None:
        with self._lock:
            if watch in self._watches:
                self._watches.remove(watch)

    def end_watches(self) -> None:
        with self._lock:
            for watch in self._watches:
                watch.queue.put(None)


def _record_name(resource: Resource, namespace, name: str) -> str:
    return f"{resource.plural}/{namespace or ''}/{name}"


def _order(item):
    (plural, namespace, name), _ = item
    return plural, namespace or "", name
