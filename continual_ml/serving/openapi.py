"""The service's OpenAPI 3.0 document, built from the same models that check its requests.

BentoML's generated document describes BentoML's own error shapes and lenient inputs; the
routes here are checked by `http_guard` first, so the document is built from its models and its
refusals, and served in place of BentoML's at `/docs.json`. Every schema in it is generated from
a pydantic model (`model_json_schema`): the request bodies, the answers, the refusal and the
`/model` description; what is written here is only which route answers what. The Swagger page
beside it loads only files the service itself serves.
"""

from __future__ import annotations

import copy

from pydantic import BaseModel, ConfigDict, Field

from continual_ml.serving.file_scoring import CSV, MULTIPART, PARQUET
from continual_ml.serving.request_schema import RequestModels

REF = "#/components/schemas/{model}"


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str


class Error(BaseModel):
    """Every refusal: what was refused and why, and the invalid fields when there are some."""

    error: str = Field(description="what was refused, and why")
    detail: list[FieldError] = Field(
        description="one entry per invalid field, for a 400 naming fields"
    )


class FeedbackAccepted(BaseModel):
    accepted: int = Field(ge=1, description="labels recorded (a repeated one counts once)")


class ServedModel(BaseModel):
    """The model being served, with what its export says of it (tag, training window...)."""

    model_config = ConfigDict(extra="allow")

    model_version: int | None
    swaps: int = Field(ge=0)
    last_swap_error: str | None = Field(
        description="why the last swap failed, or why the champion pointer is broken"
    )


ANSWERS = (Error, FeedbackAccepted, ServedModel)  # and the models' own prediction answers
ERROR, SERVED_MODEL = ({"$ref": REF.format(model=m.__name__)} for m in (Error, ServedModel))
REFUSALS = {
    "400": "the body is not strict JSON or breaks the schema; `detail` names the fields",
    "405": "the route takes POST only",
    "413": "the body is larger than the route allows",
    "415": "the content type is not application/json, or declares a charset other than UTF-8",
    "422": "the model gives no finite probabilities for these values",
    "503": "no model can serve (none promoted yet, or the champion failed to load)",
}
DOCS_PAGE = """<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>continual-ml service</title>
    <link rel="stylesheet" type="text/css" href="./static_content/swagger-ui.css" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="./static_content/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="./static_content/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script src="./static_content/swagger-initializer.js" charset="UTF-8"></script>
  </body>
</html>
"""


def to_openapi_30(schema: object) -> object:
    """A JSON Schema from pydantic, in the OpenAPI 3.0 dialect: `nullable`, no `const`."""
    if isinstance(schema, list):
        return [to_openapi_30(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {k: to_openapi_30(v) for k, v in schema.items()}
    if "const" in schema:
        schema["enum"] = [schema.pop("const")]
    options = schema.get("anyOf")
    if options and {"type": "null"} in options:
        rest = [o for o in options if o != {"type": "null"}]
        del schema["anyOf"]
        if len(rest) == 1 and "$ref" in rest[0]:
            rest = [{"allOf": rest}]  # OpenAPI 3.0 ignores a `$ref`'s siblings, `nullable` too
        schema.update(rest[0] if len(rest) == 1 else {"anyOf": rest})
        schema["nullable"] = True
    return schema


def _json(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def _operation(
    summary: str, body: type[BaseModel], ok: dict, secured: bool, refusals: dict | None = None
) -> dict:
    responses = {"200": {"description": "OK", "content": _json(ok)}}
    for status, why in {**REFUSALS, **(refusals or {})}.items():
        responses[status] = {"description": why, "content": _json(ERROR)}
    if secured:
        responses["401"] = {
            "description": "missing or wrong bearer token",
            "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
            "content": _json(ERROR),
        }
    operation = {
        "summary": summary,
        "requestBody": {
            "required": True,
            "content": _json({"$ref": REF.format(model=body.__name__)}),
        },
        "responses": responses,
    }
    if secured:
        operation["security"] = [{"bearerAuth": []}]
    return {"post": operation}


def _components(models: RequestModels) -> dict:
    schemas = {}
    answers = (models.prediction, models.batch_response, *ANSWERS)
    for model in (*models.bodies.values(), *answers):
        found = model.model_json_schema(ref_template=REF)
        for name, definition in found.pop("$defs", {}).items():
            schemas[name] = to_openapi_30(definition)
        schemas[model.__name__] = to_openapi_30(found)
    return schemas


def openapi_document(models: RequestModels, secured: bool, version: str = "1") -> dict:
    """The document for the service as configured (with the bearer scheme when it needs one):
    a classifier's answers, or a regression champion's numbers."""
    prediction = {"$ref": REF.format(model=models.prediction.__name__)}
    bodies = models.bodies
    number = models.prediction.__name__ != "Prediction"
    summary = "The predicted number" if number else "Class probabilities and predicted class"
    unscorable = {"422": "the model gives no finite prediction for these values"} if number else {}
    paths = {
        "/predict": _operation(
            f"{summary} for one row", bodies["/predict"], prediction, secured, unscorable
        ),
        "/predict_rows": _operation(
            "Predictions for a few rows, scored together with other callers' rows",
            bodies["/predict_rows"],
            {"type": "array", "items": prediction},
            secured,
            unscorable,
        ),
        "/predict_batch": _operation(
            "Predictions for many rows, all from one model",
            bodies["/predict_batch"],
            {"$ref": REF.format(model=models.batch_response.__name__)},
            secured,
            unscorable,
        ),
        "/feedback": _operation(
            "Record the true label of earlier predictions, by prediction id",
            bodies["/feedback"],
            {"$ref": REF.format(model="FeedbackAccepted")},
            secured,
            {"409": "one prediction id given two different labels (a repeat is recorded once)"},
        ),
        "/score_file": _file_operation(secured),
        "/model": {"get": _model_operation()},
        **{path: {"get": _plain(why)} for path, why in PLAIN_ROUTES.items()},
    }
    document = {
        "openapi": "3.0.3",
        "info": {"title": "continual-ml", "version": version},
        "paths": paths,
        "components": {"schemas": _components(models)},
    }
    if secured:
        document["components"]["securitySchemes"] = {
            "bearerAuth": {"type": "http", "scheme": "bearer"}
        }
    return copy.deepcopy(document)


PLAIN_ROUTES = {
    "/livez": "200 while the process is up",
    "/healthz": "200 while the process is up",
    "/readyz": "200 once a model is loaded, 503 before",
    "/metrics": "Prometheus metrics",
}


def _plain(why: str) -> dict:
    return {
        "summary": why,
        "responses": {
            "200": {"description": why, "content": {"text/plain": {"schema": {"type": "string"}}}},
            "503": {"description": "not ready", "content": {"text/plain": {"schema": {}}}},
        },
    }


def _model_operation() -> dict:
    return {
        "summary": "The model being served: version, tag, promotion time, training window",
        "responses": {"200": {"description": "OK", "content": _json(SERVED_MODEL)}},
    }


def _file_operation(secured: bool) -> dict:
    file = {"type": "string", "format": "binary"}
    operation = _operation(
        "A CSV or Parquet file back as CSV: each row with its prediction, or its error",
        BaseModel,
        {},
        secured,
        {
            "400": "the file is not CSV/Parquet, lacks feature columns or has too many rows",
            "415": f"the content type is not {CSV}, {PARQUET} or {MULTIPART}, or a CSV's charset"
            " is not UTF-8",
        },
    )
    operation["post"]["description"] = (
        "A file without rows (a header alone, or no bytes at all) comes back as the header alone."
    )
    upload = {"type": "object", "required": ["file"], "properties": {"file": file}}
    operation["post"]["requestBody"]["content"] = {
        "text/csv": {"schema": file},
        "application/vnd.apache.parquet": {"schema": file},
        # how BentoML's clients send it
        MULTIPART: {"schema": upload, "encoding": {"file": {"contentType": f"{CSV}, {PARQUET}"}}},
    }
    operation["post"]["responses"]["200"]["content"] = {"text/csv": {"schema": {"type": "string"}}}
    del operation["post"]["responses"]["422"]
    return operation
