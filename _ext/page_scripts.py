"""Each script once per page: sphinx-thebe adds its inline configuration after the builder exists, and
Sphinx then lists it twice (a page declaring `const THEBE_JS_URL` twice throws a SyntaxError)."""


def _once(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = (script.filename or "", tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _once, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
