"""The built-in exam catalogue the connectors map to: code, modality, body part, and a pattern.

Codes follow the NICIP style (X = plain film, C = CT, M = MR, U = ultrasound, ...). The same
table drives the default mapping rules and the simulator, so simulated descriptions always map.
A network replaces or extends the rules with its own file (see ``connectors.exam_rules``).
"""

from __future__ import annotations

from dataclasses import dataclass

XR = ("CR", "DX")


@dataclass(frozen=True)
class Exam:
    """One mapping entry. ``pattern`` is a case-insensitive regex on a study description."""

    code: str | None
    modalities: tuple[str, ...]
    body_part: str
    description: str
    pattern: str


# Most specific first: the first matching entry wins. Codes are those of the service's default
# catalogue (worklist/data/exam_catalogue.csv); ``code=None`` rows only name a body part.
CATALOGUE: tuple[Exam, ...] = (
    # Plain film
    Exam("XCHES", XR, "CHEST", "XR Chest", r"\b(chest|thorax|cxr)\b"),
    Exam("XABDO", XR, "ABDOMEN", "XR Abdomen", r"\b(abdo(men)?|axr|kub)\b"),
    Exam("XCSPI", XR, "CSPINE", "XR Cervical spine", r"\b(c[- ]?spine|cervical)\b"),
    Exam("XLSPI", XR, "LSPINE", "XR Lumbar spine", r"\b(l[- ]?spine|lumbar)\b"),
    Exam("XHIP", XR, "HIP", "XR Hip", r"\bhips?\b"),
    Exam("XPELV", XR, "PELVIS", "XR Pelvis", r"\bpelvis\b"),
    Exam("XKNEE", XR, "KNEE", "XR Knee", r"\bknees?\b"),
    Exam("XANKL", XR, "ANKLE", "XR Ankle", r"\bankles?\b"),
    Exam("XFOOT", XR, "FOOT", "XR Foot", r"\b(foot|feet|toes?)\b"),
    Exam("XWRIS", XR, "WRIST", "XR Wrist", r"\b(wrists?|scaphoid)\b"),
    Exam("XHAND", XR, "HAND", "XR Hand", r"\b(hands?|fingers?|thumb)\b"),
    Exam("XELBO", XR, "ELBOW", "XR Elbow", r"\belbows?\b"),
    Exam("XSHOU", XR, "SHOULDER", "XR Shoulder", r"\b(shoulders?|clavicle)\b"),
    Exam("XSKUL", XR, "SKULL", "XR Skull", r"\b(skull|facial bones|orbits?)\b"),
    # CT
    Exam(
        "CTCAP",
        ("CT",),
        "CAP",
        "CT Chest abdomen pelvis",
        r"\b(chest[ ,/&]+abdo(men)?[ ,/&]+pelvis|cap|thorax abdomen pelvis)\b",
    ),
    Exam("CTCOL", ("CT",), "COLON", "CT Colonography", r"\b(colonography|ctc)\b"),
    Exam("CTABP", ("CT",), "ABDOMEN", "CT Abdomen pelvis", r"\b(abdo(men)?|ap)\b"),
    Exam("CTPA", ("CT",), "CHEST", "CT Pulmonary angiogram", r"\b(ctpa|pulmonary angio\w*)\b"),
    Exam(
        "CTCOR", ("CT",), "HEART", "CT Coronary angiogram", r"\b(coronary|cardiac|calcium score)\b"
    ),
    Exam("CTCHE", ("CT",), "CHEST", "CT Chest", r"\b(chest|thorax|hrct)\b"),
    Exam("CTCSP", ("CT",), "CSPINE", "CT Cervical spine", r"\b(c[- ]?spine|cervical)\b"),
    Exam("CTHEA", ("CT",), "HEAD", "CT Head", r"\b(head|brain)\b"),
    # MR
    Exam("MRBRA", ("MR",), "HEAD", "MR Brain", r"\b(brain|head|iam|pituitary)\b"),
    Exam("MRSPI", ("MR",), "LSPINE", "MR Lumbar spine", r"\b(l[- ]?spine|lumbar)\b"),
    Exam(None, ("MR",), "CSPINE", "MR Cervical spine", r"\b(c[- ]?spine|cervical)\b"),
    Exam("MRKNE", ("MR",), "KNEE", "MR Knee", r"\bknees?\b"),
    Exam("MRSHO", ("MR",), "SHOULDER", "MR Shoulder", r"\bshoulders?\b"),
    Exam("MRPRO", ("MR",), "PROSTATE", "MR Prostate", r"\bprostate\b"),
    Exam("MRLIV", ("MR",), "ABDOMEN", "MR Liver", r"\b(liver|pancreas|mrcp)\b"),
    Exam("MRHEA", ("MR",), "HEART", "MR Heart", r"\b(cardiac|heart)\b"),
    Exam(None, ("MR",), "BREAST", "MR Breast", r"\bbreasts?\b"),
    Exam("MRPEL", ("MR",), "PELVIS", "MR Pelvis", r"\bpelvis\b"),
    # Ultrasound
    Exam("USABD", ("US",), "ABDOMEN", "US Abdomen", r"\b(abdo(men)?|liver|gall ?bladder)\b"),
    Exam("USPEL", ("US",), "PELVIS", "US Pelvis", r"\b(pelvis|pelvic|transvaginal)\b"),
    Exam(None, ("US",), "KIDNEY", "US Renal tract", r"\b(renal|kidneys?|urinary tract|kub)\b"),
    Exam("USNEC", ("US",), "NECK", "US Neck", r"\b(neck|thyroid)\b"),
    Exam("USMSK", ("US",), "SHOULDER", "US Shoulder", r"\b(shoulders?|msk|tendon)\b"),
    Exam(None, ("US",), "LEG", "US Doppler leg veins", r"\b(dvt|leg veins?|lower limb)\b"),
    Exam(None, ("US",), "BREAST", "US Breast", r"\bbreasts?\b"),
    Exam(None, ("US",), "SCROTUM", "US Scrotum", r"\b(scrot\w*|testes|testicular)\b"),
    # Other modalities
    Exam("MGSCR", ("MG",), "BREAST", "Mammography screening", r"\bscreen\w*\b"),
    Exam("MGSYM", ("MG",), "BREAST", "Mammography symptomatic", r"\b(mammo\w*|breasts?)\b"),
    Exam("NMBON", ("NM",), "WHOLEBODY", "NM Bone scan", r"\bbone\b"),
    Exam(None, ("NM",), "THYROID", "NM Thyroid scan", r"\bthyroid\b"),
    Exam("PTCT", ("PT",), "WHOLEBODY", "PET-CT FDG whole body", r"\b(fdg|whole ?body|pet)\b"),
    Exam("RFSWA", ("RF",), "OESOPHAGUS", "Fluoroscopy swallow", r"\bswallow\b"),
    Exam(None, ("RF",), "COLON", "Fluoroscopy barium enema", r"\benema\b"),
    Exam("XAANG", ("XA",), "VASCULAR", "Angiogram", r"\bangio\w*\b"),
)

# Modality letters a description may carry at its start ("CT Head"), used only for modality-free
# descriptions, e.g. a RIS order before any image exists.
DESCRIPTION_MODALITY_PREFIXES: dict[str, tuple[str, ...]] = {
    "XR": XR,
    "CR": XR,
    "DX": XR,
    "CT": ("CT",),
    "MR": ("MR",),
    "MRI": ("MR",),
    "US": ("US",),
    "MG": ("MG",),
    "NM": ("NM",),
    "PET": ("PT",),
    "PT": ("PT",),
    "FL": ("RF",),
    "RF": ("RF",),
}
