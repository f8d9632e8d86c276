/**
 * The parser's AST as plain objects. mvdan-sh is Go compiled to JavaScript: reading its nodes
 * through the exported JS API copies ("externalizes") a subtree on every field access, which made
 * a decision cost milliseconds. Instead we read the Go values directly, once, guided by the type
 * metadata GopherJS keeps beside them, and produce `{type, pos, end, ...fields}` trees with the
 * same field names as mvdan.cc/sh/v3/syntax (Stmts, Cmd, Args, Parts, Value, ...). Nil pointers
 * and nil interfaces become null, slices arrays, syntax.Pos byte offsets, strings UTF-8 decoded.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AstNode = { type: string; pos: number; end: number; [field: string]: any };

/** GopherJS type descriptors (the parts we read). */
interface GoType {
  kind: number;
  string: string;
  elem?: GoType;
  nil?: unknown;
  fields?: { prop: string; name: string; exported: boolean; typ: GoType }[];
}

const KIND = { int64: 6, uint64: 11, interface: 20, ptr: 22, slice: 23, string: 24, struct: 25 };

/** Converts an internal Go value of type `typ`. */
function convert(value: unknown, typ: GoType): unknown {
  switch (typ.kind) {
    case KIND.string:
      return decodeGoString(value as string);
    case KIND.int64:
    case KIND.uint64:
      return (value as { $low: number }).$low;
    case KIND.slice: {
      const s = value as { $array: unknown[]; $offset: number; $length: number };
      const out: unknown[] = [];
      for (let i = 0; i < s.$length; i++) out.push(convert(s.$array[s.$offset + i], typ.elem!));
      return out;
    }
    case KIND.ptr:
      if (value === typ.nil || value === null || value === undefined) return null;
      return typ.elem!.kind === KIND.struct ? convertStruct(value as GoStruct, typ.elem!) : null;
    case KIND.interface: {
      const ctor = (value as { constructor?: GoType } | null)?.constructor;
      // A nil interface is GopherJS's $ifaceNil, a plain object without type metadata.
      if (!ctor || typeof ctor.string !== "string" || ctor.kind === undefined) return null;
      return convert(value, ctor);
    }
    case KIND.struct:
      if (typ.string === "syntax.Pos") return (value as { offs: number }).offs;
      return convertStruct(value as GoStruct, typ);
    default:
      return value; // bool and the integer kinds are plain JS values
  }
}

type GoStruct = Record<string, unknown> & { Pos?: () => { offs: number }; End?: () => { offs: number } };

function convertStruct(value: GoStruct, typ: GoType): AstNode {
  const name = typ.string.replace(/^\*?syntax\./, "");
  const node: AstNode = {
    type: name,
    pos: typeof value.Pos === "function" ? value.Pos().offs : -1,
    end: typeof value.End === "function" ? value.End().offs : -1,
  };
  for (const f of typ.fields ?? []) {
    if (!f.exported) continue;
    node[f.name] = convert(value[f.prop], f.typ);
  }
  return node;
}

/** Go strings are byte strings in GopherJS (one char per byte); ASCII needs no work. */
function decodeGoString(s: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(s) ? s : Buffer.from(s, "latin1").toString("utf8");
}

/** Converts a parsed *syntax.File (as returned by the mvdan-sh JS API) to a plain tree. */
export function toPlainAst(file: { __internal_object__?: unknown }): AstNode {
  const internal = file.__internal_object__ as GoStruct & { constructor: GoType };
  if (!internal?.constructor?.elem) throw new Error("unexpected mvdan-sh node representation");
  return convertStruct(internal, internal.constructor.elem);
}

/** Every node below `node` (itself included), found generically: independent of the walk in walk.ts. */
export function allNodes(node: AstNode, out: AstNode[] = []): AstNode[] {
  out.push(node);
  for (const key of Object.keys(node)) {
    const v = node[key];
    if (Array.isArray(v)) {
      for (const x of v) if (x && typeof x === "object" && typeof x.type === "string") allNodes(x, out);
    } else if (v && typeof v === "object" && typeof v.type === "string") allNodes(v, out);
  }
  return out;
}
