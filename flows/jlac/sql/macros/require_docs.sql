{# Post-hook of every model: the model's yml must describe the table and every column it has, and no column it
   lacks. Stops the build naming the model and the columns, so an undocumented table never reaches the warehouse
   (the descriptions become COMMENTs through persist_docs). #}
{% macro require_docs() %}
    {% if execute %}
        {% set actual = adapter.get_columns_in_relation(this) | map(attribute='name') | list %}
        {% set documented = [] %}
        {% for name, col in model.columns.items() if (col.description or '') | trim %}
            {% do documented.append(name) %}
        {% endfor %}
        {% set undocumented = actual | reject('in', documented) | list %}
        {% set absent = model.columns.keys() | reject('in', actual) | list %}
        {% if not (model.description or '') | trim or undocumented or absent %}
            {{ exceptions.raise_compiler_error(
                "SQL model " ~ this.schema ~ "." ~ this.identifier ~ " (" ~ model.original_file_path ~ "): its yml "
                ~ "must describe the table and every column (table description: "
                ~ ("present" if (model.description or '') | trim else "missing") ~ "; undocumented: "
                ~ (undocumented | join(', ') or 'none') ~ "; documented but absent: " ~ (absent | join(', ') or 'none')
                ~ ")") }}
        {% endif %}
    {% endif %}
{% endmacro %}
