"""Writes Sources/SwiftCaffe/Schema/CaffeMessages.swift from Proto/caffe.proto
(`make proto`): one typed view per message of the schema, one Swift enum per
enum, so SwiftCaffe reads every field through a property the compiler checks.

Input: the FileDescriptorSet `protoc --include_source_info --descriptor_set_out`
writes, decoded here by hand (descriptor.proto's field numbers) so the script
needs nothing beyond Python's standard library. Defaults are not copied: the
views read them at run time from protobuf-c's descriptors, the same ones the
readers use.

    python3 scripts/generate_messages.py caffe.desc > CaffeMessages.swift
"""
import sys

# descriptor.proto: FieldDescriptorProto.Type
DOUBLE, FLOAT, INT64, UINT64, INT32, FIXED64, FIXED32, BOOL, STRING, GROUP, MESSAGE, BYTES, UINT32, ENUM, \
    SFIXED32, SFIXED64, SINT32, SINT64 = range(1, 19)
REPEATED = 3
SWIFT_KEYWORDS = {"default", "in", "repeat", "operator", "protocol", "internal", "public", "self", "Type",
                  "init", "case", "switch", "where", "is", "as", "func", "let", "var", "return", "for",
                  "while", "do", "if", "else", "import", "class", "struct", "enum", "extension", "static",
                  "subscript", "throw", "throws", "try", "catch", "true", "false", "nil", "break",
                  "continue", "fallthrough", "guard", "defer", "inout", "typealias", "associatedtype",
                  "deinit", "private", "fileprivate", "open", "super", "Any", "rethrows"}


def read_varint(b, i):
    n = shift = 0
    while True:
        c = b[i]
        i += 1
        n |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return n, i


def fields(b):
    """(number, value) pairs of one message; length-delimited values as bytes."""
    i = 0
    while i < len(b):
        key, i = read_varint(b, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            v, i = read_varint(b, i)
        elif wire == 2:
            n, i = read_varint(b, i)
            v, i = b[i:i + n], i + n
        elif wire == 1:
            v, i = b[i:i + 8], i + 8
        elif wire == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise ValueError(f"unexpected wire type {wire}")
        yield number, v


def decode(b, spec):
    """A dict of the fields named in spec {number: (name, kind, repeated)}."""
    out = {name: [] if rep else None for name, _, rep in spec.values()}
    for number, v in fields(b):
        if number not in spec:
            continue
        name, kind, rep = spec[number]
        if kind == "str":
            v = v.decode()
        elif kind == "ints":
            vs, j = [], 0
            while j < len(v):
                x, j = read_varint(v, j)
                vs.append(x)
            out[name].extend(vs)
            continue
        elif callable(kind):
            v = kind(v)
        if rep:
            out[name].append(v)
        else:
            out[name] = v
    return out


def enum_value(b):
    return decode(b, {1: ("name", "str", False), 2: ("number", "int", False)})


def enum_type(b):
    return decode(b, {1: ("name", "str", False), 2: ("values", enum_value, True)})


def field_desc(b):
    return decode(b, {1: ("name", "str", False), 3: ("number", "int", False), 4: ("label", "int", False),
                      5: ("type", "int", False), 6: ("type_name", "str", False), 7: ("default", "str", False)})


def message_type(b):
    return decode(b, {1: ("name", "str", False), 2: ("fields", field_desc, True),
                      3: ("nested", message_type, True), 4: ("enums", enum_type, True)})


def location(b):
    return decode(b, {1: ("path", "ints", True), 3: ("leading", "str", False), 4: ("trailing", "str", False)})


def file_desc(b):
    return decode(b, {1: ("name", "str", False), 4: ("messages", message_type, True),
                      5: ("enums", enum_type, True),
                      9: ("source", lambda s: decode(s, {1: ("locations", location, True)}), False)})


def camel(snake, upper_first=False):
    parts = [p for p in snake.split("_") if p]
    s = parts[0].lower() + "".join(p[:1].upper() + p[1:].lower() for p in parts[1:])
    if snake == snake.lower():  # field names keep their own case after the first letter
        s = parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])
    if upper_first:
        s = s[:1].upper() + s[1:]
    return f"`{s}`" if s in SWIFT_KEYWORDS else s


def bare(name):
    return name.strip("`")


def comments(source):
    """{path tuple: comment text} from the source info."""
    out = {}
    for loc in (source or {}).get("locations", []):
        text = (loc["leading"] or "") + (loc["trailing"] or "")
        text = " ".join(line.strip() for line in text.strip().splitlines() if line.strip())
        if text:
            out[tuple(loc["path"])] = text
    return out


class Generator:
    def __init__(self, files):
        self.files = files
        self.lines = []

    def emit(self, s=""):
        self.lines.append(s)

    def swift_type(self, f):
        t = f["type"]
        if t in (INT32, INT64, UINT32, UINT64, SINT32, SINT64, FIXED32, FIXED64, SFIXED32, SFIXED64):
            base = "Int"
        elif t in (FLOAT, DOUBLE):
            base = "Double"
        elif t == BOOL:
            base = "Bool"
        elif t == STRING:
            base = "String"
        elif t == BYTES:
            base = "[UInt8]"
        else:
            base = self.qualified(f["type_name"])
        return f"[{base}]" if f["label"] == REPEATED else base

    @staticmethod
    def qualified(type_name):
        # ".caffe.PoolingParameter.PoolMethod" -> "Caffe.PoolingParameter.PoolMethod"
        return "Caffe." + ".".join(type_name.split(".")[2:])

    def reader(self, f):
        t, rep = f["type"], f["label"] == REPEATED
        n = f"Field.{camel(f['name'])}"
        if t in (FLOAT, DOUBLE):
            return f"message.doubles({n})" if rep else f"message.double({n})"
        if t == BOOL:
            return f"message.bools({n})" if rep else f"message.bool({n})"
        if t == STRING:
            return f"message.strings({n})" if rep else f"message.string({n})"
        if t == BYTES:
            return f"message.bytesValues({n})" if rep else f"message.bytes({n})"
        if t == ENUM:
            e = self.qualified(f["type_name"])
            return (f"message.enumNumbers({n}).map {{ {e}(number: $0) }}" if rep
                    else f"{e}(number: message.enumNumber({n}))")
        if t == MESSAGE:
            m = self.qualified(f["type_name"])
            return f"message.messages({n}).map({m}.init)" if rep else f"{m}(message.message({n}))"
        return f"message.ints({n})" if rep else f"message.int({n})"

    def enum(self, e, indent, doc):
        p = " " * indent
        if doc:
            self.emit(f"{p}/// {doc}")
        self.emit(f"{p}public enum {e['name']}: Int32, CaffeEnum {{")
        for v in e["values"]:
            self.emit(f"{p}    case {camel(v['name'])} = {v['number']}")
        self.emit()
        self.emit(f"{p}    /// The value's name in the schema and in prototxt files.")
        self.emit(f"{p}    public var name: String {{")
        self.emit(f"{p}        switch self {{")
        for v in e["values"]:
            self.emit(f"{p}        case .{bare(camel(v['name']))}: return \"{v['name']}\"")
        self.emit(f"{p}        }}")
        self.emit(f"{p}    }}")
        self.emit(f"{p}}}")

    def message(self, m, path, docs):
        name = m["name"]
        doc = docs.get(path)
        self.emit()
        if doc:
            self.emit(f"    /// {doc}")
        self.emit(f"    /// A typed view of Caffe's `{name}` message.")
        self.emit(f"    public struct {name}: CaffeMessageView {{")
        self.emit(f"        public static let schema = CaffeSchema.message(\"{name}\")")
        self.emit(f"        public var message: ProtoMessage")
        self.emit()
        self.emit(f"        /// The message's fields, by number.")
        self.emit(f"        public enum Field: Int32, CaffeField {{")
        for f in m["fields"]:
            self.emit(f"            case {camel(f['name'])} = {f['number']}")
        self.emit(f"            public static var schema: MessageSchema {{ {name}.schema }}")
        self.emit(f"        }}")
        self.emit()
        self.emit(f"        public init(_ message: ProtoMessage) {{")
        self.emit(f"            precondition(message.schema === Self.schema, \"SwiftCaffe bug: a \\(message.schema.name) read as {name}\")")
        self.emit(f"            self.message = message")
        self.emit(f"        }}")
        for j, e in enumerate(m["enums"]):
            self.emit()
            self.enum(e, 8, docs.get(path + (4, j)))
        for j, f in enumerate(m["fields"]):
            self.emit()
            d = docs.get(path + (2, j))
            if d:
                self.emit(f"        /// {d}")
            label = {1: "optional", 2: "required", 3: "repeated"}[f["label"]]
            tname = f["type_name"].split(".")[-1] if f["type_name"] else \
                {DOUBLE: "double", FLOAT: "float", INT64: "int64", UINT64: "uint64", INT32: "int32", BOOL: "bool",
                 STRING: "string", BYTES: "bytes", UINT32: "uint32", SINT32: "sint32", SINT64: "sint64",
                 FIXED32: "fixed32", FIXED64: "fixed64", SFIXED32: "sfixed32", SFIXED64: "sfixed64"}[f["type"]]
            default = f" [default = {f['default']}]" if f["default"] is not None else ""
            self.emit(f"        /// `{label} {tname} {f['name']} = {f['number']}{default};`")
            self.emit(f"        public var {camel(f['name'])}: {self.swift_type(f)} {{ {self.reader(f)} }}")
        self.emit(f"    }}")

    def run(self):
        self.emit("// Generated by `make proto` (scripts/generate_messages.py) from Proto/caffe.proto.")
        self.emit("// Do not edit: change the schema and regenerate.")
        self.emit()
        self.emit("/// Caffe's messages and enums as typed Swift views, one per message of")
        self.emit("/// Proto/caffe.proto: a misspelt field or enum value fails to compile.")
        self.emit("public enum Caffe {")
        for fd in self.files:
            if fd["name"] != "caffe.proto":
                continue
            docs = comments(fd["source"])
            for i, e in enumerate(fd["enums"]):
                self.emit()
                self.enum(e, 4, docs.get((5, i)))
            for i, m in enumerate(fd["messages"]):
                if m["nested"]:
                    raise SystemExit(f"{m['name']}: nested messages are not generated")
                self.message(m, (4, i), docs)
            self.emit()
            self.emit("    /// Every view, for the test that holds them against the schema.")
            self.emit("    public static let allViews: [CaffeViewInfo] = [")
            for m in fd["messages"]:
                self.emit(f"        CaffeViewInfo({m['name']}.self),")
            self.emit("    ]")
        self.emit("}")
        return "\n".join(self.lines) + "\n"


def main():
    data = open(sys.argv[1], "rb").read()
    files = decode(data, {1: ("files", file_desc, True)})["files"]
    sys.stdout.write(Generator(files).run())


if __name__ == "__main__":
    main()
