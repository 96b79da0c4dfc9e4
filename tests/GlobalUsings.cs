global using Co = System.Collections.Generic.IEnumerator<object?>;
