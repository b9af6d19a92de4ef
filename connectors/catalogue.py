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
    """One catalogue entry. ``pattern`` is a case-insensitive regex on a study description."""

    code: str
    modalities: tuple[str, ...]
    body_part: str
    description: str
    pattern: str


# Most specific first: the first matching entry wins.
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
        "CCAPC",
        ("CT",),
        "CHESTABDPELVIS",
        "CT Chest abdomen pelvis",
        r"\b(chest[ ,/&]+abdo(men)?[ ,/&]+pelvis|cap|thorax abdomen pelvis)\b",
    ),
    Exam("CCOLO", ("CT",), "ABDOMENPELVIS", "CT Colonography", r"\b(colonography|ctc)\b"),
    Exam(
        "CABPE", ("CT",), "ABDOMENPELVIS", "CT Abdomen pelvis", r"\b(abdo(men)?[ ,/&]+pelvis|ap)\b"
    ),
    Exam("CPULA", ("CT",), "CHEST", "CT Pulmonary angiogram", r"\b(ctpa|pulmonary angio\w*)\b"),
    Exam(
        "CCORA", ("CT",), "HEART", "CT Coronary angiogram", r"\b(coronary|cardiac|calcium score)\b"
    ),
    Exam("CCHES", ("CT",), "CHEST", "CT Chest", r"\b(chest|thorax|hrct)\b"),
    Exam("CCSPI", ("CT",), "CSPINE", "CT Cervical spine", r"\b(c[- ]?spine|cervical)\b"),
    Exam("CHEAD", ("CT",), "HEAD", "CT Head", r"\b(head|brain)\b"),
    Exam("CABDO", ("CT",), "ABDOMEN", "CT Abdomen", r"\babdo(men)?\b"),
    # MR
    Exam("MBRAI", ("MR",), "BRAIN", "MR Brain", r"\b(brain|head|iam|pituitary)\b"),
    Exam("MLSPI", ("MR",), "LSPINE", "MR Lumbar spine", r"\b(l[- ]?spine|lumbar)\b"),
    Exam("MCSPI", ("MR",), "CSPINE", "MR Cervical spine", r"\b(c[- ]?spine|cervical)\b"),
    Exam("MKNEE", ("MR",), "KNEE", "MR Knee", r"\bknees?\b"),
    Exam("MSHOU", ("MR",), "SHOULDER", "MR Shoulder", r"\bshoulders?\b"),
    Exam("MPROS", ("MR",), "PROSTATE", "MR Prostate", r"\bprostate\b"),
    Exam("MLIVE", ("MR",), "LIVER", "MR Liver", r"\b(liver|pancreas|mrcp)\b"),
    Exam("MHEAR", ("MR",), "HEART", "MR Heart", r"\b(cardiac|heart)\b"),
    Exam("MBREA", ("MR",), "BREAST", "MR Breast", r"\bbreasts?\b"),
    Exam("MPELV", ("MR",), "PELVIS", "MR Pelvis", r"\bpelvis\b"),
    # Ultrasound
    Exam("UABDO", ("US",), "ABDOMEN", "US Abdomen", r"\b(abdo(men)?|liver|gall ?bladder)\b"),
    Exam("UPELV", ("US",), "PELVIS", "US Pelvis", r"\b(pelvis|pelvic|transvaginal)\b"),
    Exam("UKIDN", ("US",), "KIDNEY", "US Renal tract", r"\b(renal|kidneys?|urinary tract|kub)\b"),
    Exam("UNECK", ("US",), "NECK", "US Neck / thyroid", r"\b(neck|thyroid)\b"),
    Exam("ULEGV", ("US",), "LEG", "US Doppler leg veins", r"\b(dvt|leg veins?|lower limb)\b"),
    Exam("UBREA", ("US",), "BREAST", "US Breast", r"\bbreasts?\b"),
    Exam("USCRO", ("US",), "SCROTUM", "US Scrotum", r"\b(scrot\w*|testes|testicular)\b"),
    # Other modalities
    Exam("XMAMB", ("MG",), "BREAST", "MG Mammogram bilateral", r"\b(mammo\w*|breasts?)\b"),
    Exam("NBONE", ("NM",), "WHOLEBODY", "NM Bone scan", r"\bbone\b"),
    Exam("NTHYR", ("NM",), "THYROID", "NM Thyroid scan", r"\bthyroid\b"),
    Exam("PPETW", ("PT",), "WHOLEBODY", "PET-CT FDG whole body", r"\b(fdg|whole ?body|pet)\b"),
    Exam("FBASW", ("RF",), "ESOPHAGUS", "FL Barium swallow", r"\b(barium swallow|swallow)\b"),
    Exam("FBAEN", ("RF",), "COLON", "FL Barium enema", r"\benema\b"),
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
