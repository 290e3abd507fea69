"""HTTP routes; the one place where domain errors become problem+json answers."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response, status

from chassis import Conflict, CurrentPrincipal, NotFound, TokenSigner, Unauthorized, Unprocessable

from .domain import EmailTaken, InvalidCredentials, InvalidPassword, UserNotFound
from .schemas import AccessTokenResponse, Credentials, JwkSet, Registration, UserProfile
from .services import UserService

PROBLEMS = "https://bazaar.dev/problems"
EMAIL_TAKEN = f"{PROBLEMS}/email-taken"
INVALID_CREDENTIALS = f"{PROBLEMS}/invalid-credentials"
USER_NOT_FOUND = f"{PROBLEMS}/user-not-found"
INVALID_PASSWORD = f"{PROBLEMS}/invalid-password"

_MALFORMED: dict[int | str, dict[str, Any]] = {400: {"description": "Malformed JSON"}}

router = APIRouter()


def _service(request: Request) -> UserService:
    service: UserService = request.app.state.user_service
    return service


def _signer(request: Request) -> TokenSigner:
    signer: TokenSigner = request.app.state.signer
    return signer


Service = Annotated[UserService, Depends(_service)]


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    response_model=UserProfile,
    summary="Register an account",
    operation_id="registerUser",
    tags=["users"],
    responses={
        201: {
            "description": "The account was created",
            "headers": {
                "Location": {
                    "description": "Where the new account can be read",
                    "schema": {"type": "string"},
                }
            },
        },
        **_MALFORMED,
        409: {"description": "The email address is already registered"},
    },
)
async def register(body: Registration, service: Service, response: Response) -> UserProfile:
    try:
        user = await service.register(body.email, body.password)
    except EmailTaken as exc:
        raise Conflict(str(exc), title="Email already registered", type=EMAIL_TAKEN) from exc
    except InvalidPassword as exc:
        raise Unprocessable(str(exc), title="Invalid password", type=INVALID_PASSWORD) from exc
    response.headers["Location"] = f"/users/{user.user_id}"
    return UserProfile.of(user)


@router.post(
    "/auth/token",
    response_model=AccessTokenResponse,
    summary="Exchange email and password for an access token",
    operation_id="issueToken",
    tags=["auth"],
    responses={**_MALFORMED, 401: {"description": "Wrong email address or password"}},
)
async def issue_token(
    body: Credentials, service: Service, response: Response
) -> AccessTokenResponse:
    try:
        token = await service.login(body.email, body.password)
    except InvalidCredentials as exc:
        raise Unauthorized(str(exc), title="Invalid credentials", type=INVALID_CREDENTIALS) from exc
    # RFC 6749 §5.1: responses carrying tokens must not be cached.
    response.headers["Cache-Control"] = "no-store"
    return AccessTokenResponse(access_token=token.token, expires_in=token.expires_in)


@router.get(
    "/users/{userId}",
    response_model=UserProfile,
    summary="Read your own account",
    operation_id="getUser",
    tags=["users"],
    responses={
        401: {"description": "Missing, invalid or expired access token"},
        404: {"description": "No such user (also for other users' ids)"},
    },
)
async def get_user(
    user_id: Annotated[uuid.UUID, Path(alias="userId")],
    principal: CurrentPrincipal,
    service: Service,
) -> UserProfile:
    try:
        user = await service.profile(principal.user_id, user_id)
    except UserNotFound as exc:
        raise NotFound(str(exc), title="User not found", type=USER_NOT_FOUND) from exc
    return UserProfile.of(user)


@router.get(
    "/.well-known/jwks.json",
    response_model=JwkSet,
    summary="Public keys that verify access tokens",
    operation_id="getJwks",
    tags=["auth"],
)
async def jwks(
    signer: Annotated[TokenSigner, Depends(_signer)], response: Response
) -> dict[str, Any]:
    response.headers["Cache-Control"] = "public, max-age=300"
    return signer.jwks()
