"""Errors under /console are Chinese pages with their status code (404, 403, 405, 500 …), never the API's
JSON; a request from the console's own scripts (`X-Requested-With: fetch`) gets a Chinese JSON message.
An unexpected error is logged with its stack (method and path only: no query, no form data)."""

from __future__ import annotations

import logging

from aiohttp import web

from ...domain.errors import DomainError
from ...storage.outage import RETRY_AFTER_S, database_unavailable
from .guard import STATUS_OF, current_session, error_page, message_of, wants_json

log = logging.getLogger("certpost.console")

TEXT = {
    400: ("请求有误", "请求的内容不正确，请返回上一页重试。"),
    401: ("请先登录", "登录已过期，请重新登录后再操作。"),
    403: ("无权访问", "您的角色无权访问此页面。如需开通，请联系系统管理员。"),
    404: ("页面不存在", "您要找的页面不存在，或链接已失效。"),
    405: ("请求方式不支持", "此页面不支持这种操作方式，请从页面上的按钮或链接进入。"),
    409: ("无法完成", "数据已被他人修改，请刷新页面后重试。"),
    413: ("文件过大", "上传的文件超过大小限制，请检查后重试。"),
    422: ("无法完成", "填写的内容不正确，请检查后重试。"),
    429: ("请求过于频繁", "操作过于频繁，请稍后再试。"),
    500: ("系统出错", "系统处理时出错，已记录，请稍后重试。如反复出现，请联系系统管理员。"),
    503: ("服务暂不可用", "系统暂时无法处理请求，请稍后再试。"),
}
KEPT_HEADERS = ("Allow", "Retry-After")


def is_console(request: web.Request) -> bool:
    return request.path == "/console" or request.path.startswith("/console/")


@web.middleware
async def console_errors(request: web.Request, handler):
    if not is_console(request):
        return await handler(request)
    try:
        return await handler(request)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        response = await _answer(request, e.status)
        for key in KEPT_HEADERS:
            if key in e.headers:
                response.headers[key] = e.headers[key]
        return response
    except DomainError as e:
        status = next((s for cls, s in STATUS_OF.items() if isinstance(e, cls)), 400)
        return await _answer(request, status, message_of(e))
    except Exception as e:
        if database_unavailable(e):  # 服务暂不可用, and when to try again
            log.warning("console: database unavailable on %s %s", request.method, request.path)
            response = await _answer(request, 503)
            response.headers["Retry-After"] = str(RETRY_AFTER_S)
            return response
        log.exception("console: unhandled error on %s %s", request.method, request.path)
        return await _answer(request, 500)


async def _answer(request: web.Request, status: int, message: str = "") -> web.Response:
    title, text = TEXT.get(status, TEXT[500] if status >= 500 else TEXT[400])
    message = message or text
    if wants_json(request):
        return web.json_response({"error": message}, status=status)
    session = None
    if status < 500:  # after a server error, the page must not depend on the database again
        try:
            session = await current_session(request)
        except Exception:
            log.warning("console: session lookup failed while rendering a %s page", status)
    return error_page(request, status, title, message, session)
