"""SearchProducts' filters, sort orders and aggregations over the catalog's products.

Filters combine as AWS documents them: the values of one filter are alternatives (any may match), the
filters together must all match. FullTextSearch matches a product whose name, description, owner or id
holds every word of the value (case-insensitive), so the product's full name finds it, and so does a part.
"""

from __future__ import annotations

from collections import Counter

from labcloud.services.servicecatalog.catalog.records import OWNER, PRODUCT_TYPE, PUBLISHED, Product


def _full_text(product: Product, value: str) -> bool:
    text = product.searchable_text()
    return all(word in text for word in value.lower().split())


_FILTERS = {
    "FullTextSearch": _full_text,
    "Owner": lambda product, value: value.strip().lower() == OWNER.lower(),
    "ProductType": lambda product, value: value == PRODUCT_TYPE,
    "SourceProductId": lambda product, value: False,  # no product here is a copy of another
}


def matches(product: Product, filters: dict | None) -> bool:
    for key, values in (filters or {}).items():
        test = _FILTERS[key]  # validation has checked the keys against the model's enum
        if values and not any(test(product, value) for value in values):
            return False
    return True


_SORT_KEYS = {"Title": lambda p: p.name.lower(), "VersionCount": lambda p: 1, "CreationDate": lambda p: PUBLISHED}


def ordered(products: list[Product], params: dict) -> list[Product]:
    """Sorted by SortBy in SortOrder (ASCENDING unless DESCENDING); without SortBy, in the shipped order."""
    sort_by = params.get("SortBy")
    if not sort_by:
        return list(products)
    return sorted(products, key=_SORT_KEYS[sort_by], reverse=params.get("SortOrder") == "DESCENDING")


def aggregations(products: list[Product]) -> dict:
    """ProductViewAggregations: how many of the found products each owner and product type has."""
    owners = Counter(OWNER for _ in products)
    types = Counter(PRODUCT_TYPE for _ in products)
    return {"Owner": [{"Value": v, "ApproximateCount": n} for v, n in owners.items()],
            "ProductType": [{"Value": v, "ApproximateCount": n} for v, n in types.items()]}
