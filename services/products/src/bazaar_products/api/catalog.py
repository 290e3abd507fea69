"""The catalog: public reads and admin writes."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from bazaar_products import domain, schemas, services
from bazaar_products.domain import DomainError, NewProduct, ProductChanges
from bazaar_products.exact_json import ExactJsonRoute
from bazaar_products.money import format_price
from chassis import Unprocessable, require_role

from .problems import problem_for
from .wiring import UoW

MAX_IDS = 100
ProductId = Annotated[uuid.UUID, Path(alias="productId")]
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid bearer token"},
    403: {"description": "The token lacks the admin role"},
}


def product_view(product: domain.Product) -> schemas.Product:
    return schemas.Product(
        product_id=product.product_id,
        sku=product.sku,
        name=product.name,
        description=product.description,
        price=format_price(product.price),
        currency=product.currency,
        inventory=product.inventory,
        created_at=product.created_at,
        updated_at=product.updated_at,
    )


def _page_view(page: domain.Page) -> schemas.ProductPage:
    return schemas.ProductPage(
        items=[product_view(p) for p in page.items], next_cursor=services.next_cursor(page)
    )


def _invalid_query(field: str, message: str) -> Unprocessable:
    return Unprocessable(
        f"{field}: {message}",
        title="Invalid request",
        errors=[{"field": field, "message": message, "type": f"invalid_{field}"}],
    )


def _parse_ids(raw: str) -> list[uuid.UUID]:
    parts = [part.strip() for part in raw.split(",")]
    if len(parts) > MAX_IDS:
        raise _invalid_query("ids", f"at most {MAX_IDS} ids may be asked for at once")
    ids: list[uuid.UUID] = []
    for part in parts:
        try:
            ids.append(uuid.UUID(part))
        except ValueError:
            raise _invalid_query("ids", f"'{part[:64]}' is not a UUID") from None
    return ids


catalog = APIRouter(tags=["catalog"], route_class=ExactJsonRoute)


@catalog.get(
    "/products",
    response_model=schemas.ProductPage,
    operation_id="listProducts",
    summary="List the catalog",
    description="Products ordered by name, then id, a page at a time.",
    responses={422: {"description": "Malformed cursor, ids or limit"}},
)
async def list_products(
    uow: UoW,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size.")] = 20,
    cursor: Annotated[
        str | None, Query(max_length=1024, description="`nextCursor` of the previous page.")
    ] = None,
    ids: Annotated[
        str | None,
        Query(
            max_length=MAX_IDS * 40,
            description=f"Up to {MAX_IDS} comma-separated product UUIDs: the answer holds just "
            "those that exist, all on one page (`limit` does not apply; `cursor` is refused).",
        ),
    ] = None,
) -> schemas.ProductPage:
    try:
        if ids is None:
            return _page_view(await services.list_products(uow, limit=limit, cursor=cursor))
        if cursor is not None:
            raise _invalid_query("cursor", "cannot be combined with ids")
        return _page_view(await services.products_by_ids(uow, _parse_ids(ids)))
    except DomainError as exc:
        raise problem_for(exc) from exc


@catalog.get(
    "/products/{productId}",
    response_model=schemas.Product,
    operation_id="getProduct",
    summary="Get one product",
    responses={404: {"description": "No such product"}},
)
async def get_product(uow: UoW, product_id: ProductId) -> schemas.Product:
    try:
        return product_view(await services.get_product(uow, product_id))
    except DomainError as exc:
        raise problem_for(exc) from exc


admin = APIRouter(
    tags=["catalog admin"],
    route_class=ExactJsonRoute,
    dependencies=[Depends(require_role("admin"))],
)


@admin.post(
    "/products",
    response_model=schemas.Product,
    status_code=status.HTTP_201_CREATED,
    operation_id="createProduct",
    summary="Add a product (admin)",
    responses={**AUTH_ERRORS, 409: {"description": "The SKU is taken"}},
)
async def create_product(
    uow: UoW, body: schemas.ProductCreate, request: Request, response: Response
) -> schemas.Product:
    new = NewProduct(
        sku=body.sku,
        name=body.name,
        description=body.description,
        price=body.price,
        inventory=body.inventory,
    )
    try:
        product = await services.create_product(uow, new)
    except DomainError as exc:
        raise problem_for(exc) from exc
    location = request.url_for("get_product", productId=str(product.product_id))
    response.headers["Location"] = location.path
    return product_view(product)


@admin.patch(
    "/products/{productId}",
    response_model=schemas.Product,
    operation_id="updateProduct",
    summary="Change a product (admin)",
    description="Changes only the fields present in the body.",
    responses={**AUTH_ERRORS, 404: {"description": "No such product"}},
)
async def update_product(
    uow: UoW, product_id: ProductId, body: schemas.ProductPatch
) -> schemas.Product:
    changes = ProductChanges(
        name=body.name, description=body.description, price=body.price, inventory=body.inventory
    )
    try:
        return product_view(await services.update_product(uow, product_id, changes))
    except DomainError as exc:
        raise problem_for(exc) from exc
