// cxx17.cpp: the public API from C++17 (scripts/check-headers): every header compiles with
// -std=c++17 -Wall -Wextra -pedantic -Werror, the declarations have C linkage (this links
// against librtauth.so and runs), and the structs can be value-initialised as C++ code does.
#include <rtauth/rtauth.h>

#include <cstdio>
#include <cstring>

int main()
{
    rta_client_options o{};
    rta_client_options_init(&o);
    rta_token_params params{};
    params.ttl = 60000;
    params.client_id = "alice"; // issue 15: const char * fields take literals in C++
    params.capability = "{\"*\":[\"subscribe\"]}";
    rta_token_request tr{};
    tr.key_name = "app.key";
    tr.mac = "mac";
    rta_revocation_target target{"clientId", "alice"};
    rta_error err{};
    rta_error_set(&err, RTA_ERR_INVALID_CREDENTIALS, "%s", "bad key");
    std::printf("%d %d %s\n", err.code, err.status_code, rta_connection_state_name(RTA_CONN_CONNECTED));
    return std::strcmp(rta_strerror(RTA_ERR_TOKEN_EXPIRED), "Token expired") != 0 ||
           err.status_code != 401 || params.ttl != 60000 || !tr.key_name || !target.value;
}
