// A tiny JSON value type with a writer: the trace is JSON Lines and the harness must not add dependencies.
package org.apache.spark.streaming.offsetlab

sealed trait Json {
  def render: String = { val sb = new StringBuilder; Json.write(this, sb); sb.toString }
}

object Json {
  case object JNull extends Json
  final case class JBool(v: Boolean) extends Json
  final case class JNum(v: Long) extends Json
  final case class JStr(v: String) extends Json
  final case class JArr(items: Seq[Json]) extends Json
  /** Keys keep insertion order, so traces read like the schema table. */
  final case class JObj(fields: Seq[(String, Json)]) extends Json {
    def get(k: String): Option[Json] = fields.collectFirst { case (`k`, v) => v }
  }

  def obj(fields: (String, Json)*): JObj = JObj(fields)
  def arr(items: Seq[Json]): JArr = JArr(items)
  implicit def fromString(s: String): Json = if (s == null) JNull else JStr(s)
  implicit def fromLong(v: Long): Json = JNum(v)
  implicit def fromInt(v: Int): Json = JNum(v.toLong)
  implicit def fromBool(v: Boolean): Json = JBool(v)

  def write(j: Json, sb: StringBuilder): Unit = j match {
    case JNull => sb.append("null")
    case JBool(v) => sb.append(v)
    case JNum(v) => sb.append(v)
    case JStr(v) => quote(v, sb)
    case JArr(items) =>
      sb.append('[')
      items.zipWithIndex.foreach { case (x, i) => if (i > 0) sb.append(','); write(x, sb) }
      sb.append(']')
    case JObj(fields) =>
      sb.append('{')
      fields.zipWithIndex.foreach { case ((k, v), i) =>
        if (i > 0) sb.append(','); quote(k, sb); sb.append(':'); write(v, sb)
      }
      sb.append('}')
  }

  private def quote(s: String, sb: StringBuilder): Unit = {
    sb.append('"')
    s.foreach {
      case '"' => sb.append("\\\"")
      case '\\' => sb.append("\\\\")
      case '\n' => sb.append("\\n")
      case '\r' => sb.append("\\r")
      case '\t' => sb.append("\\t")
      case c if c < ' ' => sb.append(f"\\u${c.toInt}%04x")
      case c => sb.append(c)
    }
    sb.append('"')
  }

  /** Parses JSON text (the traces this harness and the engine write). */
  def parse(text: String): Json = {
    val p = new Parser(text); val v = p.value(); p.ws()
    if (p.i != text.length) p.fail("trailing characters")
    v
  }

  private final class Parser(s: String) {
    var i = 0
    def fail(msg: String): Nothing = throw new IllegalArgumentException(s"JSON: $msg at character $i")
    def ws(): Unit = while (i < s.length && " \t\r\n".indexOf(s.charAt(i)) >= 0) i += 1
    def expect(c: Char): Unit = { ws(); if (i >= s.length || s.charAt(i) != c) fail(s"expected '$c'"); i += 1 }
    def value(): Json = {
      ws()
      if (i >= s.length) fail("unexpected end")
      s.charAt(i) match {
        case '{' =>
          i += 1; ws()
          val b = Seq.newBuilder[(String, Json)]
          if (s.charAt(i) == '}') { i += 1 } else {
            var more = true
            while (more) {
              ws(); val k = str(); expect(':'); b += (k -> value()); ws()
              if (s.charAt(i) == ',') i += 1 else { expect('}'); more = false }
            }
          }
          JObj(b.result())
        case '[' =>
          i += 1; ws()
          val b = Seq.newBuilder[Json]
          if (s.charAt(i) == ']') { i += 1 } else {
            var more = true
            while (more) {
              b += value(); ws()
              if (s.charAt(i) == ',') i += 1 else { expect(']'); more = false }
            }
          }
          JArr(b.result())
        case '"' => JStr(str())
        case 't' => lit("true"); JBool(true)
        case 'f' => lit("false"); JBool(false)
        case 'n' => lit("null"); JNull
        case _ =>
          val st = i
          while (i < s.length && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) i += 1
          val t = s.substring(st, i)
          if (t.isEmpty) fail("unexpected character")
          if (t.exists(c => c == '.' || c == 'e' || c == 'E')) JNum(t.toDouble.toLong) else JNum(t.toLong)
      }
    }
    def lit(w: String): Unit = { if (!s.startsWith(w, i)) fail(s"expected $w"); i += w.length }
    def str(): String = {
      if (s.charAt(i) != '"') fail("expected string")
      i += 1
      val sb = new StringBuilder
      while (s.charAt(i) != '"') {
        val c = s.charAt(i)
        if (c == '\\') {
          i += 1
          s.charAt(i) match {
            case 'n' => sb.append('\n'); case 't' => sb.append('\t'); case 'r' => sb.append('\r')
            case 'b' => sb.append('\b'); case 'f' => sb.append('\f')
            case 'u' => sb.append(Integer.parseInt(s.substring(i + 1, i + 5), 16).toChar); i += 4
            case o => sb.append(o)
          }
        } else sb.append(c)
        i += 1
      }
      i += 1
      sb.toString
    }
  }
}
