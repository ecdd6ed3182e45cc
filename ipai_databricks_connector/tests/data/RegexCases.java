// Records what java.util.regex answers for each (pattern, subject) pair of regex_cases.tsv:
// Pattern.compile(pattern).matcher(subject).find(), as Databricks' RLIKE does, or the
// PatternSyntaxException. The test of the connector's translator compares PostgreSQL and
// DuckDB with this recording (no Java is needed at test time). Regenerate with:
//   java RegexCases.java regex_cases.tsv > regex_java_cases.json
// Input: one case a line, pattern TAB subject; "%{hex}" is the code point hex (for
// tabs, newlines, NUL-free control and non-ASCII characters); '#' starts a comment line.
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

public class RegexCases {
    static String decode(String s) {
        StringBuilder out = new StringBuilder();
        int i = 0;
        while (i < s.length()) {
            int end = s.indexOf('}', i);
            if (s.startsWith("%{", i) && end > 0) {
                out.appendCodePoint(Integer.parseInt(s.substring(i + 2, end), 16));
                i = end + 1;
            } else {
                out.append(s.charAt(i++));
            }
        }
        return out.toString();
    }

    static String json(String s) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') out.append('\\').append(c);
            else if (c < 0x20 || c > 0x7e) out.append(String.format("\\u%04x", (int) c));
            else out.append(c);
        }
        return out.append('"').toString();
    }

    public static void main(String[] args) throws Exception {
        StringBuilder out = new StringBuilder();
        out.append("{\"java\": ").append(json(System.getProperty("java.version")))
           .append(", \"cases\": [\n");
        boolean first = true;
        for (String line : Files.readAllLines(Path.of(args[0]), StandardCharsets.UTF_8)) {
            if (line.isEmpty() || line.startsWith("#")) continue;
            String[] parts = line.split("\t", -1);
            String pattern = decode(parts[0]);
            String subject = parts.length > 1 ? decode(parts[1]) : "";
            out.append(first ? "" : ",\n").append("  {\"pattern\": ").append(json(pattern))
               .append(", \"subject\": ").append(json(subject));
            first = false;
            try {
                boolean found = Pattern.compile(pattern).matcher(subject).find();
                out.append(", \"find\": ").append(found);
            } catch (PatternSyntaxException e) {
                out.append(", \"error\": ").append(json(e.getDescription()));
            }
            out.append("}");
        }
        System.out.print(out.append("\n]}\n"));
    }
}
