/* protocol.h: the Ably ProtocolMessage (protocol version 6) and its JSON and msgpack codecs.
 *
 * Reference: docs/wire-protocol.md section 2 (fields as ably-js 2.28.0
 * reads and writes them); spec TR (ProtocolMessage), TM (Message), TP (PresenceMessage),
 * CD (ConnectionDetails), TI (ErrorInfo), AD (AuthDetails).
 *
 * Sans-I/O: decode one frame's bytes into an rta_protocol_message, encode one into bytes.
 * Which fields are present is recorded in `has` (absent is not null: msgSerial 0 is a real
 * value). Unknown top-level fields and unknown Message fields (ably-js sends "size" and
 * "action") are ignored on decode. An ErrorInfo is always written with message, code and
 * statusCode (2.3: ably-js drops a message whose error lacks any of them).
 *
 * Message data (TM2d, RSL4): a string, binary (msgpack bin) or a JSON object/array (kept as
 * compact JSON text). Binary data written as JSON becomes a base64 string with "base64"
 * appended to `encoding` (RSL4d), as Ably does for JSON clients; JSON-typed data written as
 * msgpack becomes the corresponding msgpack map/array.
 *
 * Ownership: an rta_protocol_message filled by decode owns all its memory; release it with
 * rta_protocol_message_clear(). One built by hand for encoding is only read.
 */
#ifndef RTA_CORE_PROTOCOL_H
#define RTA_CORE_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "rtauth/error.h"

typedef enum {
    RTA_ACTION_HEARTBEAT = 0,
    RTA_ACTION_ACK = 1,
    RTA_ACTION_NACK = 2,
    RTA_ACTION_CONNECT = 3,
    RTA_ACTION_CONNECTED = 4,
    RTA_ACTION_DISCONNECT = 5,
    RTA_ACTION_DISCONNECTED = 6,
    RTA_ACTION_CLOSE = 7,
    RTA_ACTION_CLOSED = 8,
    RTA_ACTION_ERROR = 9,
    RTA_ACTION_ATTACH = 10,
    RTA_ACTION_ATTACHED = 11,
    RTA_ACTION_DETACH = 12,
    RTA_ACTION_DETACHED = 13,
    RTA_ACTION_PRESENCE = 14,
    RTA_ACTION_MESSAGE = 15,
    RTA_ACTION_SYNC = 16,
    RTA_ACTION_AUTH = 17,
    RTA_ACTION_ACTIVATE = 18,
    RTA_ACTION_OBJECT = 19,
    RTA_ACTION_OBJECT_SYNC = 20,
    RTA_ACTION_ANNOTATION = 21,
} rta_action;

#define RTA_ACTION_MAX 21

/* ProtocolMessage flags (2.1). */
#define RTA_FLAG_HAS_PRESENCE (1u << 0)
#define RTA_FLAG_HAS_BACKLOG (1u << 1)
#define RTA_FLAG_RESUMED (1u << 2)
#define RTA_FLAG_TRANSIENT (1u << 4)
#define RTA_FLAG_ATTACH_RESUME (1u << 5)
#define RTA_FLAG_HAS_OBJECTS (1u << 7)
#define RTA_MODE_PRESENCE (1u << 16)
#define RTA_MODE_PUBLISH (1u << 17)
#define RTA_MODE_SUBSCRIBE (1u << 18)
#define RTA_MODE_PRESENCE_SUBSCRIBE (1u << 19)
#define RTA_MODE_ANNOTATION_PUBLISH (1u << 21)
#define RTA_MODE_ANNOTATION_SUBSCRIBE (1u << 22)
#define RTA_MODE_OBJECT_SUBSCRIBE (1u << 24)
#define RTA_MODE_OBJECT_PUBLISH (1u << 25)
#define RTA_MODES_DEFAULT                                                                          \
    (RTA_MODE_PRESENCE | RTA_MODE_PUBLISH | RTA_MODE_SUBSCRIBE | RTA_MODE_PRESENCE_SUBSCRIBE)

/* Decode limits. */
#define RTA_PM_MAX_MESSAGES 1000 /* messages or presence entries in one ProtocolMessage */
#define RTA_PM_MAX_PARAMS 64
#define RTA_PM_MAX_STRING (64 * 1024) /* any single string field except message data */

typedef enum {
    RTA_DATA_NONE = 0,
    RTA_DATA_STRING,
    RTA_DATA_BINARY,
    RTA_DATA_JSON, /* an object or array, held as compact JSON text */
} rta_data_type;

typedef struct rta_data {
    rta_data_type type;
    char *ptr; /* owned; NUL-terminated for STRING and JSON */
    size_t len;
} rta_data;

/* Message (TM2). */
typedef struct rta_message {
    char *id;
    char *name;
    char *client_id;
    char *connection_id;
    char *encoding;
    int64_t timestamp; /* 0 = absent */
    rta_data data;
    char *extras; /* compact JSON text of the extras object; NULL = absent */
} rta_message;

/* The size Ably counts against maxMessageSize (TO3l8, RSL1i): name, clientId, data and
 * extras, in bytes. */
size_t rta_message_size(const rta_message *m);

/* Channel names (wire doc 2.7): 1..RTA_CHANNEL_NAME_MAX bytes, no leading ':' (":hell" is
 * invalid), no control characters. 1 when name is one. */
#define RTA_CHANNEL_NAME_MAX 1024
int rta_channel_name_valid(const char *name);

/* PresenceMessage (TP3). action: 0 absent, 1 present, 2 enter, 3 leave, 4 update. */
typedef struct rta_presence_message {
    int action;
    char *id;
    char *client_id;
    char *connection_id;
    char *encoding;
    int64_t timestamp;
    rta_data data;
    char *extras; /* TP3i: compact JSON text of the extras object; NULL = absent */
} rta_presence_message;

/* ConnectionDetails (CD2). Numbers are 0 when absent. */
typedef struct rta_connection_details {
    char *client_id; /* NULL: not written (anonymous) */
    char *connection_key;
    char *server_id;
    int64_t max_message_size;
    int64_t max_frame_size;
    int64_t max_inbound_rate;
    int64_t connection_state_ttl;
    int64_t max_idle_interval;
} rta_connection_details;

/* PublishResult in ACK.res (2.6). */
typedef struct rta_publish_result {
    char **serials;
    size_t serial_count;
} rta_publish_result;

/* Presence bits for rta_protocol_message.has. */
#define RTA_PM_HAS_FLAGS (1u << 0)
#define RTA_PM_HAS_COUNT (1u << 1)
#define RTA_PM_HAS_MSG_SERIAL (1u << 2)
#define RTA_PM_HAS_TIMESTAMP (1u << 3)
#define RTA_PM_HAS_ERROR (1u << 4)
#define RTA_PM_HAS_AUTH (1u << 5) /* an "auth" object, even without accessToken */
#define RTA_PM_HAS_CONNECTION_DETAILS (1u << 6)

typedef struct rta_protocol_message {
    int action; /* rta_action; unknown actions decode fine and are the caller's business */
    uint32_t has;
    uint32_t flags;
    int64_t count;
    int64_t msg_serial;
    int64_t timestamp;
    char *id;
    char *channel;
    char *channel_serial;
    char *connection_id;
    rta_error error;               /* when has & RTA_PM_HAS_ERROR */
    char *auth_access_token;       /* AUTH: auth.accessToken, NULL when absent */
    rta_connection_details details; /* when has & RTA_PM_HAS_CONNECTION_DETAILS */
    rta_message *messages;
    size_t message_count;
    rta_presence_message *presence;
    size_t presence_count;
    char **param_keys; /* params: string -> string */
    char **param_values;
    size_t param_count;
    rta_publish_result *res;
    size_t res_count;
} rta_protocol_message;

/* Decodes one ProtocolMessage. limits may be NULL. Returns 0, or 40001 (malformed, a field
 * of the wrong type, a limit exceeded) / 40009 (larger than limits->max_bytes) with err
 * filled; *out is then empty. The caller clears *out after success. */
int rta_protocol_message_decode(const void *data, size_t len, rta_format fmt,
                                const rta_parse_limits *limits, rta_protocol_message *out,
                                rta_error *err);

/* Appends the encoding of m to out. Returns 0 or 50000. */
int rta_protocol_message_encode(const rta_protocol_message *m, rta_format fmt, rta_buf *out);

void rta_protocol_message_clear(rta_protocol_message *m);
void rta_message_clear(rta_message *m);

/* One Message (TM2) on its own, for REST bodies: POST /channels/{name}/messages takes a
 * Message or an array of them (RSL1), history answers an array (RSL2). */

/* Reads one Message from a parsed node with the rules of rta_protocol_message_decode (unknown
 * fields ignored, data string/binary/object/array). *out is zeroed first and left empty on
 * failure. Returns 0 or 40001 (50000 out of memory) with err filled. */
int rta_message_decode_node(rta_node n, rta_message *out, rta_error *err);
/* Writes one Message exactly as inside a ProtocolMessage. Returns 0 or 50000 (the writer's
 * output is then incomplete and must be discarded). */
int rta_message_write(const rta_message *m, rta_writer *w);
/* Writes one PresenceMessage exactly as inside a ProtocolMessage (REST presence, RSP3/RSP4).
 * Returns 0 or 50000, as rta_message_write. */
int rta_presence_message_write(const rta_presence_message *p, rta_writer *w);
/* Copy of src's bytes (plus the NUL every data keeps after them) into *dst. Returns 0 or -1
 * (out of memory; *dst is then empty). */
int rta_data_copy(rta_data *dst, const rta_data *src);
/* Deep copy of src into *dst. Returns 0 or 50000 (out of memory; *dst is then empty). */
int rta_message_copy(rta_message *dst, const rta_message *src);
void rta_presence_message_clear(rta_presence_message *p);

/* Writes an ErrorInfo object {message, code, statusCode, href[, cause]} (TI1, 2.3). */
void rta_error_info_write(const rta_error *e, rta_writer *w);
/* Reads an ErrorInfo object; message/code/statusCode are required (40001 otherwise). */
int rta_error_info_read(rta_node n, rta_error *out, rta_error *err);

#endif
