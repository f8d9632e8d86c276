// Minimal typing of the mvdan-sh (GopherJS build of mvdan.cc/sh/v3/syntax) surface we use: the
// parser. Its nodes are converted to plain objects at once (ast.ts); only that reads ShNode.
declare module "mvdan-sh" {
  export interface ShPos {
    Offset(): number;
    Line(): number;
    Col(): number;
  }
  export interface ShNode {
    Pos(): ShPos;
    End(): ShPos;
    /** The underlying Go value (read directly by ast.ts: the JS accessors copy on every read). */
    __internal_object__: unknown;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    [field: string]: any;
  }
  export interface ShParser {
    Parse(src: string, name: string): ShNode;
  }
  export interface ShSyntax {
    NewParser(...opts: unknown[]): ShParser;
    KeepComments(on: boolean): unknown;
    Variant(lang: unknown): unknown;
    LangBash: unknown;
    LangPOSIX: unknown;
    NodeType(node: ShNode): string;
    Walk(node: ShNode, fn: (node: ShNode | null) => boolean): void;
    IsIncomplete(err: unknown): boolean;
  }
  const sh: { syntax: ShSyntax };
  export default sh;
}
