"""The words the demo catalog is written with: item kinds, materials, styles, colours.

Each kind and material lists the different words real sellers use for the same
thing (wallet / billfold, sterling / 925), so the demo exercises synonym search.
The first word of each list is the canonical name (used for tags and judgements).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# (slug, name, parent slug or None)
CATEGORY_TREE: tuple[tuple[str, str, str | None], ...] = (
    ("jewelry", "Jewelry", None),
    ("necklaces", "Necklaces", "jewelry"),
    ("earrings", "Earrings", "jewelry"),
    ("rings", "Rings", "jewelry"),
    ("bracelets", "Bracelets", "jewelry"),
    ("bags-purses", "Bags & Purses", None),
    ("wallets", "Wallets", "bags-purses"),
    ("tote-bags", "Tote Bags", "bags-purses"),
    ("backpacks", "Backpacks", "bags-purses"),
    ("home-living", "Home & Living", None),
    ("mugs-cups", "Mugs & Cups", "home-living"),
    ("vases", "Vases", "home-living"),
    ("candles", "Candles", "home-living"),
    ("pillows-throws", "Pillows & Throws", "home-living"),
    ("lighting", "Lighting", "home-living"),
    ("mirrors", "Mirrors", "home-living"),
    ("kitchen-dining", "Kitchen & Dining", "home-living"),
    ("furniture", "Furniture", None),
    ("tables", "Tables", "furniture"),
    ("chairs-stools", "Chairs & Stools", "furniture"),
    ("shelving", "Shelving", "furniture"),
    ("clothing", "Clothing", None),
    ("sweaters", "Sweaters", "clothing"),
    ("scarves", "Scarves & Wraps", "clothing"),
    ("hats", "Hats", "clothing"),
    ("art-collectibles", "Art & Collectibles", None),
    ("prints", "Prints", "art-collectibles"),
    ("paintings", "Paintings", "art-collectibles"),
    ("toys-games", "Toys & Games", None),
    ("stuffed-animals", "Stuffed Animals", "toys-games"),
    ("wooden-toys", "Wooden Toys", "toys-games"),
)


@dataclass(frozen=True)
class Kind:
    key: str
    words: tuple[str, ...]  # first is canonical
    category: str
    materials: tuple[str, ...]  # material keys
    price: tuple[int, int]  # dollars, typical range
    shape: str  # how the generated photo draws it
    details: tuple[str, ...]  # description fragments


@dataclass(frozen=True)
class Material:
    key: str
    words: tuple[str, ...]  # first is canonical
    texture: str
    price_factor: Decimal


MATERIALS: dict[str, Material] = {
    m.key: m
    for m in (
        Material("sterling silver", ("sterling silver", "925 silver", "sterling", "silver"), "metal", Decimal("1.3")),
        Material("gold", ("14k gold", "gold filled", "gold plated", "18k gold", "gold"), "metal", Decimal("2.2")),
        Material("brass", ("brass", "raw brass"), "metal", Decimal("0.9")),
        Material("copper", ("copper", "hammered copper"), "metal", Decimal("0.9")),
        Material("pearl", ("freshwater pearl", "pearl"), "dots", Decimal("1.4")),
        Material("beaded", ("beaded", "glass bead", "seed bead"), "dots", Decimal("0.7")),
        Material(
            "leather",
            ("leather", "genuine leather", "full grain leather", "real leather", "cowhide"),
            "grain",
            Decimal("1.2"),
        ),
        Material("canvas", ("canvas", "waxed canvas"), "weave", Decimal("0.8")),
        Material("cork", ("cork", "cork fabric"), "dots", Decimal("0.8")),
        Material("linen", ("linen", "washed linen"), "weave", Decimal("1.0")),
        Material("cotton", ("cotton", "organic cotton"), "weave", Decimal("0.8")),
        Material("wool", ("wool", "merino wool", "merino"), "knit", Decimal("1.2")),
        Material("alpaca", ("alpaca", "baby alpaca"), "knit", Decimal("1.5")),
        Material("velvet", ("velvet", "crushed velvet"), "plain", Decimal("1.1")),
        Material("stoneware", ("stoneware", "hand-thrown stoneware"), "speckle", Decimal("1.0")),
        Material("ceramic", ("ceramic", "glazed ceramic"), "speckle", Decimal("1.0")),
        Material("porcelain", ("porcelain", "fine porcelain"), "plain", Decimal("1.3")),
        Material("glass", ("glass", "blown glass", "hand blown glass"), "plain", Decimal("1.2")),
        Material("soy wax", ("soy wax", "soy"), "plain", Decimal("1.0")),
        Material("beeswax", ("beeswax", "pure beeswax"), "plain", Decimal("1.2")),
        Material("oak", ("oak", "solid oak", "white oak"), "wood", Decimal("1.3")),
        Material("walnut", ("walnut", "black walnut"), "wood", Decimal("1.5")),
        Material("pine", ("pine", "reclaimed pine"), "wood", Decimal("0.9")),
        Material("reclaimed wood", ("reclaimed wood", "barn wood", "salvaged wood"), "wood", Decimal("1.1")),
        Material("paper", ("archival paper", "giclee", "paper"), "plain", Decimal("1.0")),
        Material("watercolor", ("watercolor", "watercolour"), "plain", Decimal("1.0")),
        Material("oil", ("oil on canvas", "oil"), "plain", Decimal("1.6")),
    )
}

KINDS: tuple[Kind, ...] = (
    Kind("necklace", ("necklace", "pendant", "pendant necklace", "chain", "choker", "lariat"), "necklaces",
         ("sterling silver", "gold", "brass", "pearl", "beaded", "copper"), (18, 160), "necklace",
         ("an adjustable 16-20 inch chain", "a hand-stamped charm", "a small birthstone")),
    Kind("earrings", ("earrings", "studs", "drop earrings", "hoops", "dangle earrings"), "earrings",
         ("sterling silver", "gold", "brass", "pearl", "beaded"), (14, 90), "earrings",
         ("hypoallergenic ear wires", "lightweight for all-day wear", "a matte brushed finish")),
    Kind("ring", ("ring", "band", "signet ring", "stacking ring"), "rings",
         ("sterling silver", "gold", "brass", "copper"), (20, 220), "ring",
         ("made to your size", "a hammered texture", "a tiny bezel-set stone")),
    Kind("bracelet", ("bracelet", "bangle", "cuff bracelet"), "bracelets",
         ("sterling silver", "gold", "brass", "copper", "beaded", "leather"), (16, 120), "ring",
         ("an adjustable clasp", "a stackable design", "hand-forged links")),
    Kind("wallet", ("wallet", "billfold", "bifold wallet", "card holder", "cardholder wallet"), "wallets",
         ("leather", "canvas", "cork"), (28, 140), "wallet",
         ("six card slots", "hand-stitched edges with waxed thread", "a slim front-pocket profile")),
    Kind("tote", ("tote bag", "tote", "market bag", "shopper bag"), "tote-bags",
         ("canvas", "leather", "linen", "cotton"), (24, 180), "bag",
         ("an inside zip pocket", "sturdy shoulder straps", "room for a laptop")),
    Kind("backpack", ("backpack", "rucksack", "daypack"), "backpacks",
         ("canvas", "leather"), (60, 260), "bag",
         ("padded straps", "a roll-top closure", "brass buckles")),
    Kind("mug", ("mug", "coffee mug", "tea cup", "cup"), "mugs-cups",
         ("stoneware", "ceramic", "porcelain"), (18, 48), "mug",
         ("holds 12 oz", "a comfortable wide handle", "dishwasher and microwave safe")),
    Kind("vase", ("vase", "bud vase", "flower vase"), "vases",
         ("ceramic", "stoneware", "glass", "porcelain"), (22, 120), "vase",
         ("a watertight glaze", "about 8 inches tall", "a narrow neck for single stems")),
    Kind("candle", ("candle", "scented candle", "pillar candle"), "candles",
         ("soy wax", "beeswax"), (12, 42), "candle",
         ("a cotton wick", "about 50 hours of burn time", "notes of cedar and fig")),
    Kind("pillow", ("pillow cover", "throw pillow", "cushion cover"), "pillows-throws",
         ("linen", "wool", "cotton", "velvet"), (22, 75), "textile",
         ("a hidden zipper", "fits an 18 x 18 inch insert", "block-printed by hand")),
    Kind("blanket", ("throw blanket", "blanket", "quilt"), "pillows-throws",
         ("wool", "cotton", "alpaca", "linen"), (60, 320), "textile",
         ("50 x 60 inches", "fringed edges", "machine washable on cold")),
    Kind("lamp", ("table lamp", "lamp", "pendant light"), "lighting",
         ("ceramic", "brass", "oak", "glass"), (70, 340), "lamp",
         ("a linen drum shade", "an in-line switch", "takes an E26 bulb")),
    Kind("mirror", ("wall mirror", "mirror", "round mirror"), "mirrors",
         ("oak", "brass", "reclaimed wood", "walnut"), (60, 300), "mirror",
         ("ready to hang", "a 24 inch diameter", "a hand-finished frame")),
    Kind("cutting board", ("cutting board", "serving board", "charcuterie board"), "kitchen-dining",
         ("walnut", "oak", "reclaimed wood"), (30, 120), "board",
         ("finished with food-safe oil", "a juice groove", "end-grain construction")),
    Kind("bowl", ("bowl", "serving bowl", "salad bowl"), "kitchen-dining",
         ("walnut", "stoneware", "ceramic", "oak"), (20, 110), "bowl",
         ("food safe", "about 10 inches across", "turned on a lathe")),
    Kind("side table", ("side table", "end table", "nightstand", "coffee table"), "tables",
         ("oak", "walnut", "pine", "reclaimed wood"), (120, 640), "table",
         ("mortise and tenon joinery", "a lower shelf", "a hand-rubbed oil finish")),
    Kind("chair", ("chair", "stool", "rocking chair", "bar stool"), "chairs-stools",
         ("oak", "walnut", "pine"), (90, 720), "chair",
         ("a woven seat", "steam-bent back spindles", "comfortable for long dinners")),
    Kind("shelf", ("wall shelf", "shelf", "floating shelf", "bookshelf"), "shelving",
         ("oak", "walnut", "pine", "reclaimed wood"), (40, 380), "shelf",
         ("hidden mounting hardware", "holds up to 40 lb", "cut to length on request")),
    Kind("sweater", ("sweater", "cardigan", "jumper", "pullover"), "sweaters",
         ("wool", "alpaca", "cotton"), (70, 260), "sweater",
         ("hand-knit in a cable pattern", "a relaxed fit", "ribbed cuffs")),
    Kind("scarf", ("scarf", "shawl", "wrap"), "scarves",
         ("wool", "alpaca", "linen", "cotton"), (28, 140), "textile",
         ("soft against the skin", "70 inches long", "hand-dyed with plants")),
    Kind("hat", ("beanie", "hat", "knit hat", "cap"), "hats",
         ("wool", "alpaca", "cotton"), (20, 70), "hat",
         ("a fold-over brim", "a pompom on top", "one size fits most")),
    Kind("print", ("art print", "print", "poster", "wall art"), "prints",
         ("paper",), (15, 90), "frame",
         ("printed on heavy cotton rag", "available in A4 and A3", "signed by the artist")),
    Kind("painting", ("painting", "original painting", "landscape painting"), "paintings",
         ("watercolor", "oil"), (80, 900), "frame",
         ("an original, one of a kind", "ready to frame", "painted en plein air")),
    Kind("stuffed animal", ("stuffed animal", "plush toy", "teddy bear", "soft toy"), "stuffed-animals",
         ("wool", "cotton", "linen"), (24, 90), "plush",
         ("safety-stitched eyes", "stuffed with organic wool", "about 10 inches tall")),
    Kind("wooden toy", ("wooden toy", "toy car", "stacking toy", "wooden puzzle"), "wooden-toys",
         ("oak", "walnut", "pine"), (18, 80), "toy",
         ("finished with beeswax", "smooth rounded edges", "no small parts")),
)

HANDMADE_WORDS = ("Handmade", "Hand-crafted", "Handcrafted", "Artisan", "Homemade", "Hand-made", "Hand made")
VINTAGE_WORDS = ("Vintage", "Antique", "Retro", "1970s", "1960s", "Mid-century vintage", "Old", "Secondhand")
STYLES = (
    "Minimalist", "Boho", "Rustic", "Modern", "Scandinavian", "Art deco", "Farmhouse", "Personalized",
    "Custom", "Dainty", "Chunky", "Cottagecore", "Mid-century",
)
COLOURS = (
    "black", "white", "ivory", "red", "burgundy", "pink", "blush", "orange", "mustard", "yellow", "sage",
    "green", "olive", "teal", "turquoise", "blue", "navy", "purple", "lavender", "brown", "tan", "grey",
)
COLOUR_RGB = {
    "black": (40, 40, 44), "white": (240, 238, 232), "ivory": (236, 228, 206), "red": (190, 48, 44),
    "burgundy": (120, 30, 46), "pink": (232, 150, 170), "blush": (236, 196, 190), "orange": (226, 128, 52),
    "mustard": (212, 168, 52), "yellow": (240, 206, 70), "sage": (158, 178, 146), "green": (64, 140, 80),
    "olive": (120, 124, 56), "teal": (36, 128, 128), "turquoise": (64, 190, 186), "blue": (58, 104, 186),
    "navy": (34, 50, 96), "purple": (112, 72, 150), "lavender": (182, 164, 214), "brown": (120, 80, 50),
    "tan": (200, 164, 120), "grey": (140, 140, 146),
}
# Misspellings real sellers make (applied to a few listings).
MISSPELLINGS = {
    "leather": "lether", "necklace": "neckless", "wallet": "walet", "earrings": "earings",
    "Handmade": "Handmad", "sterling": "sterlng", "ceramic": "ceramik", "Vintage": "Vintge",
    "bracelet": "braclet", "jewelry": "jewlery", "pendant": "pendent", "walnut": "walnutt",
}
SHOP_FIRST = (
    "Willow", "Fern", "Hollow", "Juniper", "Copper", "Magpie", "Saltmarsh", "Bramble", "Linden", "Moth",
    "Heron", "Clover", "Foxglove", "Tinder", "Meadow", "Harbor", "Ember", "Thistle", "Rowan", "Acorn",
    "Larkspur", "Oakmoss", "Driftwood", "Quince", "Sparrow",
)
SHOP_SECOND = (
    "Studio", "Workshop", "Goods", "Atelier", "Makers", "& Co", "Supply", "Collective", "House", "Finds",
    "Forge", "Loom", "Kiln", "Bench", "Trading Post",
)
LOCATIONS = (
    "Portland, OR", "Asheville, NC", "Hudson, NY", "Santa Fe, NM", "Austin, TX", "Burlington, VT",
    "Lisbon, Portugal", "Bristol, UK", "Leeds, UK", "Melbourne, Australia", "Kyoto, Japan", "Ghent, Belgium",
    "Oaxaca, Mexico", "Montreal, Canada", "Tucson, AZ", "Madison, WI",
)
