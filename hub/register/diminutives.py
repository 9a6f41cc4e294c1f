"""British diminutives missing from the `nicknames` dataset (which is American in origin).

Each short form maps to the full names it is commonly used for in the UK. Kept short and
curated by hand; the matcher treats a pair as a nickname match in either direction.
"""

UK_DIMINUTIVES: dict[str, tuple[str, ...]] = {
    "alfie": ("alfred",),
    "alf": ("alfred",),
    "archie": ("archibald",),
    "benji": ("benjamin",),
    "bella": ("isabella", "isabel", "arabella"),
    "ellie": ("eleanor", "elizabeth", "ellen"),
    "evie": ("eve", "evelyn"),
    "florrie": ("florence",),
    "flo": ("florence",),
    "freddie": ("frederick", "alfred"),
    "georgie": ("georgia", "georgina", "george"),
    "gill": ("gillian",),
    "jill": ("gillian",),
    "immy": ("imogen",),
    "izzy": ("isabella", "isabel", "isobel"),
    "izzie": ("isabella", "isabel", "isobel"),
    "kath": ("katherine", "catherine", "kathryn"),
    "kate": ("catherine", "katherine", "kathryn"),
    "katie": ("catherine", "katherine", "kathryn"),
    "lexi": ("alexandra", "alexis"),
    "liv": ("olivia",),
    "livvy": ("olivia",),
    "maddie": ("madeleine", "madison", "madeline"),
    "millie": ("amelia", "millicent", "emily"),
    "nat": ("natalie", "nathan", "nathaniel"),
    "nicky": ("nicola", "nicholas"),
    "olly": ("oliver",),
    "ollie": ("oliver",),
    "robbie": ("robert",),
    "rosie": ("rose", "rosalind", "rosemary"),
    "sammie": ("samantha", "samuel"),
    "sammy": ("samantha", "samuel"),
    "teddy": ("edward", "theodore"),
    "theo": ("theodore",),
    "xander": ("alexander",),
    "abi": ("abigail",),
    "abby": ("abigail",),
}


def diminutive_forms(name_key: str) -> set[str]:
    """The other forms of a name by the UK list: its full names, or the short forms of a full name."""
    forms = set(UK_DIMINUTIVES.get(name_key, ()))
    forms |= {short for short, fulls in UK_DIMINUTIVES.items() if name_key in fulls}
    return forms
