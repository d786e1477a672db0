/* rtauth/rtauth.h: librtauth, the whole public API in one include.
 *
 *   error.h       Ably error codes and rta_error
 *   token.h       TokenParams, TokenRequest, TokenDetails, revocation types
 *   token_json.h  those types as JSON text
 *   options.h     ClientOptions and AuthOptions
 *   auth_result.h what an authCallback hands back
 *   capability.h  capabilities: parse, canonical text, intersect, allows(op, channel)
 *   auth.h        the Auth object: clientId, authorize, createTokenRequest, requestToken,
 *                 revokeTokens, tokenDetails
 *   rest.h        the REST client: create/destroy, auth, time, request, publish, history,
 *                 stats
 *   realtime.h    the realtime client: connection, channels, the same auth
 */
#ifndef RTAUTH_RTAUTH_H
#define RTAUTH_RTAUTH_H

#define RTA_VERSION "0.1.0"

#include "rtauth/auth.h"
#include "rtauth/auth_result.h"
#include "rtauth/capability.h"
#include "rtauth/error.h"
#include "rtauth/options.h"
#include "rtauth/realtime.h"
#include "rtauth/rest.h"
#include "rtauth/token.h"
#include "rtauth/token_json.h"

#endif
