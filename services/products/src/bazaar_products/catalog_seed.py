"""The demo catalog a fresh local install starts with (``SEED_DEMO_CATALOG=true``).

Product ids are derived from the SKU (UUIDv5) so every install has the same ids, which makes
demo scripts and bug reports reproducible.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from .domain import NewProduct

_ID_NAMESPACE = uuid.UUID("6f0b8a8e-4c3e-5b5a-9d3e-2b7a1c0e9f41")


def _p(sku: str, name: str, price: str, inventory: int, description: str) -> NewProduct:
    return NewProduct(
        sku=sku, name=name, price=Decimal(price), inventory=inventory, description=description
    )


DEMO_PRODUCTS: tuple[NewProduct, ...] = (
    _p(
        "KIT-CHEF-8",
        "Chef's Knife 8\"",
        "89.00",
        60,
        "High-carbon stainless steel blade with a full tang and a riveted pakkawood handle.",
    ),
    _p(
        "KIT-PAN-CI-10",
        'Cast Iron Skillet 10"',
        "34.95",
        120,
        "Pre-seasoned cast iron that goes from stovetop to oven to campfire.",
    ),
    _p(
        "KIT-FRENCH-PRESS",
        "French Press 1 L",
        "29.50",
        150,
        "Borosilicate glass carafe with a stainless steel four-level filter.",
    ),
    _p(
        "KIT-KETTLE-GOOSE",
        "Gooseneck Kettle",
        "64.00",
        45,
        "Electric pour-over kettle with a temperature hold from 40 to 100 degrees C.",
    ),
    _p(
        "KIT-BOARD-WALNUT",
        "Walnut Cutting Board",
        "49.99",
        80,
        "End-grain walnut board, 40 x 30 cm, finished with food-safe mineral oil.",
    ),
    _p(
        "HOM-LAMP-DESK",
        "Desk Lamp with Dimmer",
        "42.00",
        200,
        "LED desk lamp with five brightness levels and an adjustable colour temperature.",
    ),
    _p(
        "HOM-THROW-WOOL",
        "Merino Wool Throw",
        "119.00",
        35,
        "A soft 130 x 170 cm throw woven from fine merino wool.",
    ),
    _p(
        "HOM-CANDLE-CEDAR",
        "Cedar & Sage Candle",
        "18.00",
        300,
        "Hand-poured soy wax candle with a cotton wick; about 45 hours of burn time.",
    ),
    _p(
        "HOM-PLANTER-CER",
        "Ceramic Planter, Medium",
        "27.50",
        140,
        "Matte glazed stoneware planter with a drainage hole and saucer.",
    ),
    _p(
        "OUT-BOTTLE-750",
        "Insulated Water Bottle 750 ml",
        "24.99",
        500,
        "Double-wall vacuum insulation keeps drinks cold for 24 hours or hot for 12.",
    ),
    _p(
        "OUT-TENT-2P",
        "Ultralight Tent, 2-Person",
        "249.00",
        25,
        "Freestanding three-season tent weighing 1.3 kg with two doors and vestibules.",
    ),
    _p(
        "OUT-HEADLAMP",
        "Rechargeable Headlamp",
        "39.00",
        220,
        "400-lumen headlamp with a red night mode and USB-C charging.",
    ),
    _p(
        "OUT-PACK-28",
        "Daypack 28 L",
        "79.00",
        90,
        "Water-resistant hiking daypack with a ventilated back panel and hip belt.",
    ),
    _p(
        "TEC-EARBUDS-NC",
        "Noise-Cancelling Earbuds",
        "129.00",
        75,
        "Wireless earbuds with active noise cancelling and 28 hours of battery with the case.",
    ),
    _p(
        "TEC-CHARGER-65W",
        "65 W USB-C Charger",
        "45.00",
        260,
        "Compact GaN charger with two USB-C ports and one USB-A port.",
    ),
    _p(
        "TEC-KEYBOARD-MECH",
        "Mechanical Keyboard",
        "99.00",
        60,
        "Tenkeyless keyboard with hot-swappable tactile switches and PBT keycaps.",
    ),
    _p(
        "TEC-MOUSE-ERGO",
        "Ergonomic Wireless Mouse",
        "59.90",
        110,
        "Vertical mouse that keeps the wrist in a natural handshake position.",
    ),
    _p(
        "TEC-STAND-LAPTOP",
        "Aluminium Laptop Stand",
        "38.00",
        170,
        "Raises the screen to eye level; folds flat for travel.",
    ),
    _p(
        "BOO-NOTEBOOK-A5",
        "Dotted Notebook A5",
        "14.50",
        450,
        "192 numbered pages of 100 gsm paper with a lay-flat binding.",
    ),
    _p(
        "BOO-PEN-FOUNTAIN",
        "Fountain Pen, Fine Nib",
        "32.00",
        130,
        "Steel fine nib with a converter and a cartridge of blue-black ink.",
    ),
    _p(
        "BOO-COOKBOOK-VEG",
        "The Weeknight Vegetable Cookbook",
        "27.00",
        95,
        "One hundred quick vegetable-forward recipes for busy evenings.",
    ),
    _p(
        "APP-TEE-ORG-M",
        "Organic Cotton T-Shirt",
        "22.00",
        380,
        "Heavyweight organic cotton crew-neck tee, pre-shrunk.",
    ),
    _p(
        "APP-BEANIE-RIB",
        "Ribbed Beanie",
        "19.50",
        240,
        "Soft ribbed knit beanie in a recycled wool blend.",
    ),
    _p(
        "APP-SOCKS-HIKE",
        "Hiking Socks, 2-Pack",
        "21.00",
        320,
        "Cushioned merino-blend socks that stay dry and do not hold odour.",
    ),
)


def product_id_for(sku: str) -> uuid.UUID:
    return uuid.uuid5(_ID_NAMESPACE, sku)


def demo_catalog() -> list[tuple[uuid.UUID, NewProduct]]:
    return [(product_id_for(p.sku), p) for p in DEMO_PRODUCTS]
