"""The four parts of a good image prompt (content type, description, style, composition), as a chat
model is asked to answer them: the prompt writer's expansions and /describe's suggestions."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Expansion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content_type: str
    description: str
    style: str
    composition: str

    def prompt(self, limit: int) -> str:
        """'a watercolour painting of <description>, <style>, <composition>'; composition goes first."""
        subject = f"{self.content_type.strip()} of {self.description.strip()}".strip()
        parts = [subject, self.style.strip(), self.composition.strip()]
        while len(", ".join(p for p in parts if p)) > limit and len(parts) > 1:
            parts.pop()
        return ", ".join(p for p in parts if p)[:limit]


def object_schema(model: type[BaseModel]) -> dict:
    """A strict JSON schema of a model whose fields are all strings."""
    properties = {field: {"type": "string"} for field in model.model_fields}
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def json_schema(model: type[BaseModel], name: str, schema: dict | None = None) -> dict:
    """The response format asking a chat model to answer in `schema` (default: the model's own)."""
    schema = schema or object_schema(model)
    return {"type": "json_schema", "json_schema": {"name": name, "strict": True, "schema": schema}}
