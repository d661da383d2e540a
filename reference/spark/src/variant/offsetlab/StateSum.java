// The "changed code" for a scenario's `change_code` step: same class name as offsetlab.StateSum, but a new
// serialVersionUID, as when an application is rebuilt with an edited update function. The harness compiles it
// at run time and puts it first on the job's classpath; the old checkpoint then no longer deserializes.
package offsetlab;

public class StateSum implements scala.Function2<scala.collection.immutable.Seq<Object>, scala.Option<Object>, scala.Option<Object>>, java.io.Serializable {
    private static final long serialVersionUID = 2L;

    @Override
    public scala.Option<Object> apply(scala.collection.immutable.Seq<Object> values, scala.Option<Object> state) {
        int sum = state.isDefined() ? (Integer) state.get() : 0;
        scala.collection.Iterator<Object> it = values.iterator();
        while (it.hasNext()) sum += (Integer) it.next();
        return scala.Option.apply((Object) Integer.valueOf(sum));
    }
}
