"""Producers, products and dossiers for the tests of the console's lists (tests/console)."""

from __future__ import annotations

from storage.db import Database
from storage.models import Area, Dossier, Producer, Product, User
from storage.states import DossierStatus


async def add_producer(
    db: Database,
    name: str,
    province: Area,
    commune: Area | None,
    *,
    tax_code: str = "0101234567",
    phone: str = "+84912345678",
    org_type: str = "cooperative",
) -> int:
    """A registered producer (its ``search_name`` filled by the model)."""
    async with db.transaction() as session:
        row = Producer(
            org_type=org_type, name=name, tax_code=tax_code, rep_name="Trần Văn B",
            rep_position="Giám đốc", rep_gender="male", rep_ethnicity="Kinh", phone=phone,
            province_id=province.id, commune_id=commune.id if commune else None,
            commune_name=commune.name if commune else "",
        )  # fmt: skip
        session.add(row)
        await session.flush()
        return row.id


async def add_product(
    db: Database,
    producer_id: int,
    name: str,
    product_set: int = 7,
    status: DossierStatus | None = DossierStatus.DRAFT,
) -> tuple[int, int | None]:
    """A product of ``producer_id`` with a dossier in ``status`` (None: no dossier); the ids of
    both."""
    async with db.transaction() as session:
        user = User(display_name="u")
        session.add(user)
        await session.flush()
        product = Product(
            producer_id=producer_id, product_set=product_set, name=name, created_by=user.id
        )
        session.add(product)
        await session.flush()
        if status is None:
            return product.id, None
        dossier = Dossier(product_id=product.id, kind="new", rules_version="2026.1", status=status)
        session.add(dossier)
        await session.flush()
        return product.id, dossier.id
