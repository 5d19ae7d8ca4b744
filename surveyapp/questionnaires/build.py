"""Turn a validated document into the shared frozen model (model.Questionnaire)."""

from __future__ import annotations

from surveyapp import question_types
from surveyapp.model import (
    Band,
    Choice,
    LineageLink,
    Question,
    Questionnaire,
    Retired,
    Section,
    Text,
)
from surveyapp.questionnaires.expressions import parse_expression


def text(value: dict | None) -> Text | None:
    return None if value is None else Text(value["ja"], value.get("en"))


def build_questionnaire(document: dict) -> Questionnaire:
    header, scoring = document["questionnaire"], document["scoring"]
    choice_sets = document.get("choice_sets", {})
    return Questionnaire(
        id=header["id"], version=header["version"], fiscal_year=header["fiscal_year"],
        title=text(header["title"]), method=scoring["method"],
        bands=tuple(Band(b["id"], float(b["min"]), text(b["label"])) for b in scoring["bands"]),
        sections=tuple(build_section(s, choice_sets) for s in document["sections"]),
        previous_version=header.get("previous_version"),
        retired=tuple(Retired(r["id"], text(r["reason"]), tuple(r.get("replaced_by", ())))
                      for r in document.get("retired", ())),
    )


def build_section(section: dict, choice_sets: dict) -> Section:
    questions = tuple(build_question(q, section, choice_sets) for q in section["questions"])
    return Section(section["id"], text(section["title"]), section["audience"], questions,
                   float(section.get("weight", 1)), text(section.get("help")))


def build_question(raw: dict, section: dict, choice_sets: dict) -> Question:
    relevant = raw.get("relevant")
    kind = question_types.lookup(raw["type"])
    return Question(
        id=raw["id"], type=raw["type"], text=text(raw["text"]), section_id=section["id"],
        audience=raw.get("audience", section["audience"]),
        choices=build_choices(raw, choice_sets, kind),
        weight=float(raw.get("weight", kind.default_weight)),
        required=raw.get("required", False), help=text(raw.get("help")),
        relevant=parse_expression(relevant) if relevant else None,
        relevant_source=relevant, findings=tuple(raw.get("findings", ())),
        evidence=raw.get("evidence", "none"),
        lineage=tuple(LineageLink(link["from"], link["id"], link["relation"])
                      for link in raw.get("lineage", ())),
        explanation=text(raw.get("explanation")), criterion_ref=raw.get("criterion_ref"),
        evidence_label=text(raw.get("evidence_label")),
    )


def build_choices(raw: dict, choice_sets: dict,
                  kind: question_types.QuestionType) -> tuple[Choice, ...]:
    items = raw.get("choices", ())
    items = choice_sets[items] if isinstance(items, str) else items
    return tuple(build_choice(item, kind) for item in items)


def build_choice(item: dict, kind: question_types.QuestionType) -> Choice:
    """Its points come from its question's type (a quiz's choices score 1 or 0)."""
    correct = item.get("correct", False)
    return Choice(item["value"], text(item["label"]),
                  kind.choice_points(item.get("score"), correct), correct)
