"""A store's poster: its QR code (PNG, SVG) and an A4 PDF with the store's name and the subsidy standard."""

from __future__ import annotations

import io

from flask import Response
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from subsidy_app.appliances.domain import CATEGORY_ZH as CATEGORY_ZH  # the pages read the names here
from subsidy_app.appliances.participation import StoreView
from subsidy_app.core.errors import ValidationFailed
from subsidy_app.core.qr import render_png, render_svg, sign_printed
from subsidy_app.http import runtime

POSTER_PURPOSE = "appliance-store"
FONT = "STSong-Light"
# What the poster states (DOMAIN.md §2, current rule versions); the rule files stay the source of the amounts.
STANDARD_ZH = (
    "家电:一级能效(水效)产品按售价 15% 补贴,每件最高 1,500 元;每人每类限 1 件。",
    "数码产品(手机、平板、智能手表/手环、智能眼镜):单价不超过 6,000 元,按售价 15% 补贴,每件最高 500 元。",
    "扫码核验身份后在收银台直接立减;退货不退补贴,已用名额不恢复。",
)


def poster_url(store: StoreView) -> str:
    """Return the URL the store's poster QR holds (a signed, lasting code: suspending the store revokes it)."""
    settings = runtime().settings
    token = sign_printed(settings.secret_key, POSTER_PURPOSE, {"c": store.poster_code})
    return f"{settings.public_base_url}/m/store/{token}"


def pdf(store: StoreView, categories: list[str], url: str) -> bytes:
    """Lay out the A4 poster: title, store, QR code, approved categories and the subsidy standard."""
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4)
    width, height = A4
    page.setTitle(f"{store.name} 以旧换新补贴")
    page.setFont(FONT, 26)
    page.drawCentredString(width / 2, height - 35 * mm, "吕梁市以旧换新补贴 扫码立减")
    page.setFont(FONT, 16)
    page.drawCentredString(width / 2, height - 50 * mm, f"{store.dealer_name} · {store.name}")
    page.drawImage(ImageReader(io.BytesIO(render_png(url, box_size=10))), width / 2 - 45 * mm, height - 150 * mm,
                   90 * mm, 90 * mm)
    page.setFont(FONT, 12)
    y = height - 165 * mm
    names = "、".join(CATEGORY_ZH.get(c, c) for c in categories) or "(暂无获批品类)"
    page.drawString(20 * mm, y, f"本店获批补贴品类:{names}"[:70])
    for line in STANDARD_ZH:
        y -= 9 * mm
        page.drawString(20 * mm, y, line[:60])
        if len(line) > 60:
            y -= 6 * mm
            page.drawString(24 * mm, y, line[60:])
    page.setFont(FONT, 9)
    page.drawString(20 * mm, 15 * mm, f"门店地址:{store.address}  二维码含防伪签名,请勿涂改。")
    page.showPage()
    page.save()
    return out.getvalue()


def respond(store: StoreView, categories: list[str], fmt: str) -> Response:
    """Return the poster in the asked format."""
    url = poster_url(store)
    if fmt == "png":
        return Response(render_png(url), mimetype="image/png")
    if fmt == "svg":
        return Response(render_svg(url), mimetype="image/svg+xml")
    if fmt == "pdf":
        response = Response(pdf(store, categories, url), mimetype="application/pdf")
        response.headers["Content-Disposition"] = f"inline; filename=store-{store.id}-poster.pdf"
        return response
    raise ValidationFailed.field("fmt", "格式应为 png、svg 或 pdf / format must be png, svg or pdf")
