"""Personas for the generated demo corpus and the shopping traits that drive the scripted shopper.

Personas use OPeRA's ``survey`` layout (demographics, self description, shopping preferences
as Likert answers, personality). Generated ones are labelled ``"generated": True``; the two real
OPeRA personas keep their source and licence. A shopper's behaviour is derived from the
persona's answers (research before buying, buying the first good-enough product, value for
money...), so a persona-conditioned predictor has real signal to use.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "LIKERT",
    "OPERA_LICENSE",
    "OPERA_SOURCE",
    "Traits",
    "generate_personas",
    "parse_opera_user_csv",
    "traits_from_persona",
]

OPERA_SOURCE = "OPeRA (NEU-HAI/OPeRA, arXiv 2506.05606), user table, real participant"
OPERA_LICENSE = "CC-BY-4.0"
GENERATED_SOURCE = "shop_r1_gym.demo v1 generated persona (not a real person)"

LIKERT: tuple[str, ...] = (
    "Strongly disagree", "Somewhat disagree", "Neither agree or disagree", "Somewhat agree", "Strongly agree",
)
_STATEMENTS = {
    "holidays": "I tend to shop more during holidays.",
    "ads": "Online Ads attract my attention and are a good source of information.",
    "research": "I usually do a lot research (e.g. reading online reviews) before making purchase.",
    "delivery": "I prioritize delivery speed and delivery fee of the product.",
    "quality": "Getting high-quality online products is very important for me.",
    "expensive": "The more expensive online product brands are usually my choice.",
    "indecisive": "The more I learn about online products, the harder it seems to choose the best.",
    "quick": "I shop quickly for online products, buying the first product or brand I find that seems good enough.",
    "loyal": "Once I find a brand I like, I stick with it.",
    "novelty": "I would buy a new or different brand of product just to see what it is like.",
    "fun": "I enjoy shopping for online products just for the fun of it.",
    "value": "I look carefully to find the best value for money when shopping online.",
}
_AGREE_KEY = "To what extent do you agree with the following statements"


@dataclass(frozen=True)
class Traits:
    """Behavioural tendencies in [0, 1] that parameterise the scripted shopper."""

    research: float
    quick: float
    value: float
    ads: float
    fun: float
    indecisive: float
    delivery: float
    box_click: float
    filters: float


def _likert(answer: Any) -> float:
    try:
        return LIKERT.index(str(answer).strip()) / 4
    except ValueError:
        return 0.5


def _stable_unit(user_id: str, what: str) -> float:
    return random.Random(f"{user_id}\x1f{what}").random()


def traits_from_persona(persona: Mapping[str, Any], user_id: str) -> Traits:
    """Shopping traits from a persona's Likert answers (plus stable per-user habits it does not cover)."""
    answers = (persona.get("Shopping Preference") or {}).get(_AGREE_KEY) or {}
    score = {key: _likert(answers.get(text)) for key, text in _STATEMENTS.items()}
    return Traits(
        research=score["research"],
        quick=score["quick"],
        value=score["value"],
        ads=score["ads"],
        fun=score["fun"],
        indecisive=score["indecisive"],
        delivery=score["delivery"],
        box_click=_stable_unit(user_id, "box_click"),
        filters=0.5 * score["value"] + 0.5 * _stable_unit(user_id, "filters"),
    )


def parse_opera_user_csv(path: str | Path) -> list[dict[str, Any]]:
    """The parsed ``survey`` JSON of each row of OPeRA's user table (``user.csv``).

    Raises:
        ValueError: a row without ``user_id`` or with a ``survey`` that is not a JSON object,
            naming the file and row.
    """
    csv.field_size_limit(1 << 30)
    out = []
    with open(path, newline="", encoding="utf-8") as fh:
        for row_no, row in enumerate(csv.DictReader(fh), start=2):
            user_id = (row.get("user_id") or "").strip()
            if not user_id:
                raise ValueError(f"{path}, row {row_no}, field 'user_id': missing")
            try:
                survey = json.loads(row.get("survey") or "")
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}, row {row_no}, field 'survey': not JSON ({exc})") from exc
            if not isinstance(survey, dict):
                raise ValueError(f"{path}, row {row_no}, field 'survey': expected a JSON object")
            out.append({"user_id": user_id, "survey": survey})
    return out


_GENDERS = ("Female", "Male", "Non-binary")
_AGES = ("18-24 years old", "25-34 years old", "35-44 years old", "45-54 years old", "55-64 years old")
_CITIES = ("Boston", "Austin", "Seattle", "Columbus", "Denver", "Atlanta", "Phoenix", "Raleigh", "Portland",
           "Pittsburgh", "Madison", "San Diego", "Chicago", "Nashville", "Minneapolis")
_EDUCATION = ("High school diploma", "Some college", "Bachelor's degree",
              "Graduate degree or current grad student (MA, MS, MBA, etc.)",
              "Doctoral degree or current doctoral student (PhD, JD, MD, DDS etc.)")
_LIVING = ("Live alone", "Live together with roommate", "Live with partner", "Live with family", "")
_INCOME = ("$25,000-$49,999", "$50,000-$74,999", "$75,000-$99,999", "$100,000-$149,999", "$150,000 or more")
_EMPLOYMENT = ("Full-time employee", "Part-time employee", "Student", "Self-employed", "Retired")
_FREQUENCY = ("Less than once a month", "Once every couple of weeks", "Once to twice a week", "More than twice a week")
_JOBS = (
    ("nurse", "work rotating shifts at a regional hospital and like things that save me time"),
    ("high school teacher", "plan lessons in the evenings and shop for my classroom now and then"),
    ("software engineer", "work from home and care about gadgets that make my desk setup better"),
    ("graduate student", "live on a stipend and compare prices before I buy anything"),
    ("retail manager", "spend long days on my feet and buy for my whole family"),
    ("freelance designer", "like well-made things and notice how products look"),
    ("accountant", "keep a careful budget and read the reviews before buying"),
    ("parent of two", "shop for the kids and the household most weeks"),
    ("personal trainer", "buy fitness gear and supplements regularly"),
    ("retired engineer", "enjoy fixing things around the house and buying good tools"),
    ("chef", "care about kitchen equipment and quality ingredients"),
    ("college student", "shop online for most things and look for deals"),
)
_MBTI = ("INTJ", "INTP", "ENTJ", "ENTP", "INFJ", "INFP", "ENFJ", "ENFP", "ISTJ", "ISFJ", "ESTJ", "ESFJ",
         "ISTP", "ISFP", "ESTP", "ESFP")
_LEVELS = ("Low", "Medium", "High", "Extremely high")


def generate_personas(count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` generated personas in OPeRA's survey layout, each labelled ``"generated": True``.

    Returns:
        Dicts ``{"user_id": ..., "persona": {...}}``; ids are ``gen-user-NNN``.
    """
    rng = random.Random(f"personas\x1f{seed}")
    out = []
    for k in range(count):
        job, routine = rng.choice(_JOBS)
        answers = {text: LIKERT[min(4, max(0, round(rng.gauss(2.3, 1.2))))] for text in _STATEMENTS.values()}
        persona = {
            "generated": True,
            "source": GENERATED_SOURCE,
            "Demographic Information": {
                "Gender": rng.choice(_GENDERS), "Age": rng.choice(_AGES), "City": rng.choice(_CITIES),
                "Education level": rng.choice(_EDUCATION), "Living situation": rng.choice(_LIVING),
                "Yearly household income or stipend": rng.choice(_INCOME),
                "Employment status": rng.choice(_EMPLOYMENT),
            },
            "Self Description": {"Two sentence description": f"I am a {job}. I {routine}."},
            "Shopping Preference": {
                "Online shopping frequency": rng.choice(_FREQUENCY),
                "Monthly online shopping spend $": str(rng.choice((50, 100, 150, 200, 300, 500, 800))),
                "Amazon Prime membership": rng.choice(("Yes", "Yes", "No")),
                _AGREE_KEY: answers,
            },
            "Personality": {
                "MBTI personality type": rng.choice(_MBTI),
                "Big Five Scores": {trait: rng.choice(_LEVELS) for trait in (
                    "Extraversion", "Agreeableness", "Conscientiousness", "Emotional Stability", "Intellect")},
            },
        }
        out.append({"user_id": f"gen-user-{k:03d}", "persona": persona})
    return out
