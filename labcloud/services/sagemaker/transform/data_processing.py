"""A batch transform job's DataProcessing, as AWS documents it ("Associate prediction results with input
records"): InputFilter picks the part of each input record the model receives, JoinSource "Input" joins
each prediction to its whole input record, OutputFilter picks what of the (joined) record is written.

A CSV record is an array of its values, a JSON record a JSON value. Joined, a CSV record is the input's
values followed by the output's; a JSON object gets the output under "SageMakerOutput", a JSON array gets
it appended. Filters are JSONPath: `$`, `$[i]`, `$[i:j]` (either end optional), `$[i,j,...]` (a negative
index counts from the end), `$.key`, `$['key']` and chains of them; others are refused when the job is
created, with the expression named.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass

from labcloud.core.errors import ValidationException

_STEP = re.compile(r"\.(?P<key>[A-Za-z_][\w-]*)|\['(?P<quoted>[^']*)'\]|\[(?P<index>[^\]]*)\]")
_INT = re.compile(r"-?\d+")


class RecordError(Exception):
    """A record the filters or the join cannot be applied to (the message is the job's FailureReason)."""


def _parse(expression: str, member: str) -> list:
    if not isinstance(expression, str) or not expression.startswith("$"):
        raise ValidationException(f"{member} must be a JSONPath starting with '$', not {expression!r}.")
    steps, at = [], 1
    while at < len(expression):
        match = _STEP.match(expression, at)
        if match is None:
            raise ValidationException(f"{member} {expression!r}: labcloud reads $, .key, ['key'], [i], [i:j] "
                                      f"and [i,j,...] in a JSONPath; it cannot read {expression[at:]!r}.")
        if match["key"] is not None or match["quoted"] is not None:
            steps.append(("key", match["key"] if match["key"] is not None else match["quoted"]))
        else:
            inside = match["index"].replace(" ", "")
            if ":" in inside:
                start, _, stop = inside.partition(":")
                if not all(part == "" or _INT.fullmatch(part) for part in (start, stop)):
                    raise ValidationException(f"{member} {expression!r}: a slice is [start:stop] of integers.")
                steps.append(("slice", int(start) if start else None, int(stop) if stop else None))
            elif inside and all(_INT.fullmatch(part) for part in inside.split(",")):
                steps.append(("indexes", [int(part) for part in inside.split(",")]))
            else:
                raise ValidationException(f"{member} {expression!r}: [{match['index']}] is not an index, a list "
                                          "of indexes or a slice.")
        at = match.end()
    return steps


def _apply(steps: list, value, expression: str):
    for step in steps:
        if step[0] == "key":
            if not isinstance(value, dict) or step[1] not in value:
                raise RecordError(f"the record has no member {step[1]!r} for the filter {expression}")
            value = value[step[1]]
        elif not isinstance(value, list):
            raise RecordError(f"the filter {expression} indexes a record that is not an array")
        elif step[0] == "slice":
            value = value[step[1]:step[2]]
        else:
            try:
                picked = [value[i] for i in step[1]]
            except IndexError:
                raise RecordError(f"the filter {expression} indexes past the record's {len(value)} values") from None
            value = picked if len(step[1]) > 1 else picked[0]
    return value


@dataclass
class DataProcessing:
    input_filter: list
    join_input: bool
    output_filter: list
    expressions: tuple[str, str]
    csv_in: bool
    csv_out: bool

    @classmethod
    def of(cls, job: dict) -> "DataProcessing | None":
        """The job's DataProcessing, None when it changes nothing; ValidationException for a filter
        labcloud cannot read."""
        given = job.get("DataProcessing") or {}
        input_filter, output_filter = given.get("InputFilter", "$"), given.get("OutputFilter", "$")
        join = given.get("JoinSource", "None") == "Input"
        if input_filter == "$" and output_filter == "$" and not join:
            return None
        content = (job.get("TransformInput", {}).get("ContentType") or "text/csv").lower()
        accept = (job.get("TransformOutput", {}).get("Accept") or content).lower()
        return cls(_parse(input_filter, "DataProcessing.InputFilter"), join,
                   _parse(output_filter, "DataProcessing.OutputFilter"), (input_filter, output_filter),
                   "csv" in content, "csv" in accept)

    @property
    def per_record(self) -> bool:
        """Whether outputs must be matched to input records one by one (a join or an output filter)."""
        return self.join_input or bool(self.output_filter)

    def model_input(self, record: bytes) -> bytes:
        """What the model receives of one input record."""
        if not self.input_filter:
            return record
        value = _apply(self.input_filter, self._read(record, self.csv_in), self.expressions[0])
        return self._write(value, self.csv_in) + (b"\n" if record.endswith(b"\n") else b"")

    def written(self, record: bytes, output: bytes) -> bytes:
        """What is written for one input record and the model's output for it."""
        value = self._read(output, self.csv_out)
        if self.join_input:
            source = self._read(record, self.csv_in)
            if isinstance(source, dict):
                value = {**source, "SageMakerOutput": value}
            elif isinstance(source, list):
                value = source + (value if isinstance(value, list) else [value])
            else:
                value = [source, value]
        if self.output_filter:
            value = _apply(self.output_filter, value, self.expressions[1])
        return self._write(value, self.csv_out or (self.csv_in and self.join_input)) + b"\n"

    @staticmethod
    def _read(data: bytes, as_csv: bool):
        text = data.decode("utf-8", errors="replace").strip()
        if as_csv:
            rows = list(csv.reader(io.StringIO(text)))
            return rows[0] if rows else []
        try:
            return json.loads(text)
        except ValueError:
            raise RecordError(f"a record is not JSON: {text[:100]!r}") from None

    @staticmethod
    def _write(value, as_csv: bool) -> bytes:
        if as_csv:
            out = io.StringIO()
            csv.writer(out, lineterminator="").writerow(value if isinstance(value, list) else [value])
            return out.getvalue().encode()
        return json.dumps(value, separators=(",", ":")).encode()
