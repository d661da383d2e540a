// Runs one of Kafka's command-line tools at a precise instant: the JVM starts early (a Kafka tool JVM takes
// 2-5 s to start here), waits for a line on stdin, then calls the tool's own main. Plain Java, so it needs only
// Kafka's jars next to it.
package offsetlab;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.reflect.Method;
import java.util.Arrays;

public final class ToolLauncher {
    public static void main(String[] args) throws Exception {
        Class<?> tool = Class.forName(args[0]);
        Method main = tool.getMethod("main", String[].class);
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        System.err.flush();
        new BufferedReader(new InputStreamReader(System.in)).readLine();
        main.invoke(null, (Object) rest);
    }
}
